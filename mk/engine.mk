# Dialing engine (dialer/engine/): throughput, refill latency, occupancy and memory of the
# real `dialer` against a real dialer-pbxsim, on MariaDB (and SQLite for throughput/refill);
# numbers in bench/RESULTS-engine.md. About 8 minutes in all.
.PHONY: bench-engine
BENCH_TARGETS += bench-engine

bench-engine: venv mariadb
	$(VPY) bench/engine_bench.py all
