# Web console (issue 14): the browser tests drive Debian's own headless Chromium through
# Debian's chromedriver (tests/test_web_browser.py); installed here when missing.
.PHONY: deps-web
deps-web:
	@$(call need-deb,chromium,chromium)
	@$(call need-deb,chromedriver,chromium-driver)

TEST_PREREQS += deps-web
