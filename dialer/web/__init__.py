"""The web console (issue 14): the Flask application and its launcher, dialer-web."""
