# Dead-code check (issue 15): tests/test_deadcode.py runs Debian's vulture over dialer/ with
# tools/vulture_whitelist.py.
.PHONY: deps-deadcode
deps-deadcode:
	@$(call need-deb,vulture,vulture)

TEST_PREREQS += deps-deadcode
