"""dialer-pbxsim: an Asterisk Manager Interface stand-in for tests, demos and load tests.

Standard library plus PyYAML only, so it can run where the dialer's own dependencies are
not installed. See docs/pbxsim.md.
"""
