# Compliance (issue 5): calling windows end to end, the real dialer + dialer-pbxsim on a
# simulated clock; numbers in bench/RESULTS-compliance.md.
.PHONY: bench-compliance
BENCH_TARGETS += bench-compliance

bench-compliance: venv
	$(VPY) bench/compliance_bench.py --sqlite
