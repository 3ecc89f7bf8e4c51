# Ansible roles (issue 8): the tools tests/test_ansible.py needs, and `make ansible-lint`.
#
# Two toolchains, both exercised by the tests:
#  - Debian 12's own: the `ansible` package (ansible-core 2.14 with community.mysql and
#    community.general) and `ansible-lint` 6.13;
#  - a current one in a private virtualenv, ANSIBLE_VENV: the newest ansible-core that runs
#    on Debian 12's Python 3.11 and a current ansible-lint, pinned below. It uses the
#    collections of Debian's ansible package (ANSIBLE_COLLECTIONS_PATH), so nothing is
#    fetched from Ansible Galaxy.

ANSIBLE_VENV := build/ansible-current
ANSIBLE_CURRENT := ansible-core==2.19.14 ansible-lint==26.10.1
ANSIBLE_COLLECTIONS := /usr/lib/python3/dist-packages

.PHONY: deps-ansible ansible-lint check-ansible

deps-ansible: $(ANSIBLE_VENV)/.stamp
	@dpkg -s ansible ansible-lint >/dev/null 2>&1 || { $(MAKE) --no-print-directory apt-update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ansible ansible-lint >/dev/null; }

$(ANSIBLE_VENV)/.stamp: mk/ansible.mk | venv
	rm -rf $(ANSIBLE_VENV)
	$(PYTHON) -m venv $(ANSIBLE_VENV)
	$(ANSIBLE_VENV)/bin/pip install -q --disable-pip-version-check $(ANSIBLE_CURRENT)
	touch $@

TEST_PREREQS += deps-ansible

# Both linters, with the profile the roles are held to.
ansible-lint: deps-ansible
	cd ansible && ansible-lint --offline --profile production
	cd ansible && PATH="$(CURDIR)/$(ANSIBLE_VENV)/bin:$$PATH" ANSIBLE_COLLECTIONS_PATH=$(ANSIBLE_COLLECTIONS) \
		ansible-lint --offline --profile production

# The Ansible tests alone (the converge test installs and purges the dialer package).
check-ansible: venv mariadb deps-ansible
	$(VPY) -m pytest -q tests/test_ansible.py
