# AMI client (dialer/ami): reading-throughput benchmark, numbers in bench/RESULTS-ami.md.
.PHONY: bench-ami
BENCH_TARGETS += bench-ami

bench-ami: venv
	$(VPY) bench/ami_bench.py
