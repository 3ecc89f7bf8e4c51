# Campaign store (dialer/store): import, claim latency and statistics benchmarks against the
# test MariaDB (DIALER_TEST_MYSQL); numbers go to bench/RESULTS-store.md.
.PHONY: bench-store bench-store-import bench-store-claim bench-store-stats bench-store-dump bench-store-cycle bench-store-sqlite
BENCH_TARGETS += bench-store

bench-store: bench-store-import bench-store-claim bench-store-stats bench-store-dump bench-store-cycle bench-store-sqlite

bench-store-import: venv mariadb
	$(VPY) bench/store_bench.py import --lines 1000000 --runs 3

bench-store-claim: venv mariadb
	$(VPY) bench/store_bench.py claim --sizes 10000,10000000 --claims 200

bench-store-stats: venv mariadb
	$(VPY) bench/store_bench.py stats --rows 1000000 --runs 7

bench-store-sqlite: venv
	$(VPY) bench/store_bench.py all --sqlite --lines 1000000 --runs 1 --sizes 10000,1000000 --claims 100 --rows 1000000

bench-store-dump: venv mariadb
	$(VPY) bench/store_bench.py dump --rows 1000000

bench-store-cycle: venv mariadb
	$(VPY) bench/store_bench.py cycle --rows 1000000 --claims 200
