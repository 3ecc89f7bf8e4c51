"""dialer: outbound call dialer for Asterisk, driven through the Manager Interface."""

__version__ = "0.1.0"
