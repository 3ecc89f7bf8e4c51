# Web console (issue 14): the browser tests drive Debian's own headless Chromium through
# Debian's chromedriver (tests/test_web_browser.py); installed here when missing.
.PHONY: deps-web
deps-web:
	@$(call need-deb,chromium,chromium)
	@$(call need-deb,chromedriver,chromium-driver)

TEST_PREREQS += deps-web

# Web console speed (issue 14, docs/web.md "Counts and their age"): page latency over 1 and 10
# million leads, and the dialer's throughput with and without 20 console users (paired runs);
# the second line over a 10-million-lead campaign, whose recounts are the costly ones. Numbers in
# BENCHMARKS.md, "Web console". About 30 minutes (half of them generating rows).
.PHONY: bench-web
BENCH_TARGETS += bench-web

bench-web: venv mariadb
	$(VPY) bench/web_bench.py all
	$(VPY) bench/web_bench.py throughput --runs 2 --big 10000000
