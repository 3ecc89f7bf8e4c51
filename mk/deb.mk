# Debian package (issue 7): `make deb` -> dist/dialer_<version>_all.deb, `make deb-lint`.
#
# dpkg-buildpackage needs debian/ at the top of the source, and the repository keeps
# it in packaging/debian: the tree is copied to build/deb/dialer-<version>/ first.
# pyst2 (not in Debian) is fetched from PyPI here, hash-pinned, and bundled by
# debian/rules; see docs/packaging.md.

DEB_VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' dialer/__init__.py)
DEB_BUILDDIR := build/deb
DEB_SRCDIR := $(DEB_BUILDDIR)/dialer-$(DEB_VERSION)
DEB_DIST := dist
DEB_FILE := $(DEB_DIST)/dialer_$(DEB_VERSION)_all.deb
DEB_VENDOR := build/vendor
DEB_TOOLS := dpkg-dev debhelper dh-python python3-all python3-setuptools lintian
# The copy: in a git checkout, every file git would see (tracked or new, .gitignore
# honoured, so new ignored build output stays out); elsewhere all but these.
DEB_EXCLUDES := --exclude-vcs --exclude=./.venv --exclude=./build --exclude=./dist \
	--exclude='*.egg-info' --exclude=__pycache__ --exclude='*.pyc' --exclude=.pytest_cache \
	--exclude=./demo --exclude=./bench-out
DEB_TREE := if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
		tar -cf - --null --files-from=- --ignore-failed-read --warning=no-failed-read; \
	else tar -cf - $(DEB_EXCLUDES) .; fi

.PHONY: deb deb-tools deb-lint deps-deb

# tests/test_deb.py also checks the package's logrotate file with logrotate itself.
deps-deb:
	@$(call need-deb,logrotate,logrotate)
TEST_PREREQS += deps-deb

# Like need-deb, but keyed on the packages (python3-all and python3-setuptools have no
# command of their own), and one apt-get for all of them on a fresh machine.
deb-tools:
	@missing=""; for p in $(DEB_TOOLS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(MAKE) --no-print-directory apt-update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

$(DEB_VENDOR)/.pyst2: packaging/debian/pyst2.requirements | venv
	@mkdir -p $(DEB_VENDOR)
	$(VPY) -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
		--require-hashes -r $< -d $(DEB_VENDOR)
	@touch $@

deb: deb-tools $(DEB_VENDOR)/.pyst2
	@test -n "$(DEB_VERSION)" || { echo "deb: no __version__ in dialer/__init__.py" >&2; exit 2; }
	rm -rf $(DEB_BUILDDIR)
	mkdir -p $(DEB_SRCDIR) $(DEB_DIST)
	$(DEB_TREE) | tar -xf - -C $(DEB_SRCDIR)
	rm -rf $(DEB_SRCDIR)/debian && cp -r packaging/debian $(DEB_SRCDIR)/debian
	mkdir -p $(DEB_SRCDIR)/debian/vendor && cp $(DEB_VENDOR)/pyst2-*.tar.gz $(DEB_SRCDIR)/debian/vendor/
	@# The package version follows dialer.__version__: a bump gets a changelog entry here.
	@cd $(DEB_SRCDIR) && if [ "$$(dpkg-parsechangelog -S Version)" != "$(DEB_VERSION)" ]; then \
		{ printf 'dialer (%s) unstable; urgency=medium\n\n  * Upstream version %s.\n\n -- %s  %s\n\n' \
			"$(DEB_VERSION)" "$(DEB_VERSION)" "$$(dpkg-parsechangelog -S Maintainer)" "$$(date -R)"; \
		  cat debian/changelog; } > debian/changelog.new && mv debian/changelog.new debian/changelog; fi
	cd $(DEB_SRCDIR) && dpkg-buildpackage -us -uc -b
	cp $(DEB_BUILDDIR)/dialer_$(DEB_VERSION)_all.deb $(DEB_FILE)
	@echo "deb: $(DEB_FILE)"

# Fails on any lintian error or warning (overrides carry their reason in debian/).
deb-lint: deb
	lintian --fail-on error,warning --tag-display-limit 0 $(DEB_FILE)
