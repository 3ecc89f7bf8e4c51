"""dialer-web: the web console and HTTP API (docs/web.md). `create_app(cfg)` in app.py."""
