# Campaign rules (issue 5): compliance benchmark, numbers in bench/RESULTS-rules.md.
.PHONY: bench-rules
BENCH_TARGETS += bench-rules

bench-rules: venv
	$(VPY) bench/rules_bench.py
