# dialer — build, test, demo, benchmarks, package.
#
#   make demo    a demo campaign end to end (dialer + dialer-pbxsim on SQLite, no servers)
#   make test    the whole suite (real MariaDB, real AMI over TCP to dialer-pbxsim)
#   make bench   the benchmarks; numbers go to BENCHMARKS.md by hand
#   make deb     the Debian package: dist/dialer_<version>_all.deb (mk/deb.mk)
#   make readme  README.md from docs/*.md
#
# Works on a fresh Debian 12 machine as root: missing system packages are installed
# with apt-get, Python packages go into a private virtualenv (.venv).

SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV ?= .venv
VPY := $(VENV)/bin/python
PYTEST_ARGS ?=
export DIALER_TEST_MYSQL ?= mysql://root@127.0.0.1:3306

# Area fragments (mk/*.mk) append to these.
TEST_PREREQS :=
BENCH_TARGETS :=

.PHONY: all venv test unit demo bench mariadb clean apt-update readme
all: venv

# apt-get update once per machine boot-ish; cheap when lists are fresh.
apt-update:
	@if [ ! -f /var/lib/apt/periodic/dialer-updated ] || [ -n "$$(find /var/lib/apt/periodic/dialer-updated -mmin +720)" ]; then \
		apt-get update -qq && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/dialer-updated; fi

# $(call need-deb,command,package): install a Debian package when its command is missing.
need-deb = command -v $(1) >/dev/null 2>&1 || { $(MAKE) --no-print-directory apt-update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; }

$(VENV)/.stamp: setup.py requirements.txt requirements-test.txt
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { $(MAKE) --no-print-directory apt-update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

venv: $(VENV)/.stamp

# A MariaDB answering on 127.0.0.1:3306, or a throwaway one started by tests/mariadb.sh.
mariadb:
	@bash tests/mariadb.sh ensure

include $(sort $(wildcard mk/*.mk))

test: venv mariadb $(TEST_PREREQS)
	$(VPY) -m pytest $(PYTEST_ARGS) tests

unit: venv
	$(VPY) -m pytest -q -m "not slow" tests

demo: venv
	$(VPY) -m dialer.demo

bench: venv mariadb $(BENCH_TARGETS)

readme:
	$(PYTHON) tools/mkreadme.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache demo bench-out
