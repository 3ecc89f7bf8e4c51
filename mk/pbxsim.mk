# dialer-pbxsim (dialer/pbxsim): originates/s and concurrent calls on one core;
# numbers in bench/RESULTS-pbxsim.md.
.PHONY: bench-pbxsim
BENCH_TARGETS += bench-pbxsim

bench-pbxsim: venv
	$(VPY) bench/pbxsim_bench.py
