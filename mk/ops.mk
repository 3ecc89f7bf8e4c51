# Operations area: tools the systemd unit and monitoring checks need (tests/test_systemd_unit*.py,
# tests/test_monitoring*.py, tests/test_metrics*.py).
#   systemd-analyze, systemd-sysusers, systemd-tmpfiles  <- systemd
#   promtool                                             <- prometheus (Debian's 2.42)
# Prometheus is installed without its Recommends (node-exporter etc.): only promtool is used.

.PHONY: deps-ops check-ops
deps-ops:
	@$(call need-deb,systemd-analyze,systemd)
	@$(call need-deb,promtool,--no-install-recommends prometheus)

TEST_PREREQS += deps-ops

# The operations checks alone: `make check-ops`.
check-ops: venv deps-ops
	$(VPY) -m pytest -q $(wildcard tests/test_systemd_unit*.py tests/test_metrics*.py tests/test_monitoring*.py)
