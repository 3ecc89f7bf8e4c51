# Attempt history (dialer/store/history.py, dialer/report.py): report and `history -p` over
# 10 million attempts, purge while appending, on MariaDB; numbers in bench/RESULTS-history.md.
# About 3 minutes (2 of them generating the rows).
.PHONY: bench-history
BENCH_TARGETS += bench-history

bench-history: venv mariadb
	$(VPY) bench/history_bench.py all --rows 10000000 --runs 7
