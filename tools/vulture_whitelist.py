"""Names vulture (tests/test_deadcode.py) must not report as dead code, each with its reason.

Not meant to run: vulture only reads it. `_` stands for any object. Patterns (the pbxsim's
act_<action> dispatch, web routes) are given in the test as --ignore-names/--ignore-decorators.
A name listed here and no longer defined anywhere is reported by the test, so the list cannot
outlive the code.
"""
_ = None

# -- called by a library, not by our code ------------------------------------------------------
isSet                  # pyst2 polls Event.isSet() (dialer/ami/connection.py _Flag)
_.message_loop         # pyst2 Manager overrides, run by Manager.connect() (dialer/ami/connection.py)
_.event_dispatch
_.send_action          # pyst2 Manager API (connection.py); AmiLink.send_action mirrors it (tests, tools)
get_header             # pyst2 ManagerMsg API, kept by wire.Message
_.has_header
_.log_message          # wsgiref WSGIRequestHandler hook (dialer/metrics.py)
daemon_threads         # socketserver class attributes (dialer/metrics.py)
address_family
_.__module__           # read by pickle/repr of the generated config dataclasses (config/settings.py)
frame                  # signal handler signature (service.py, pbxsim/__main__.py)
_.load_config          # gunicorn BaseApplication hook (web/serve.py)

# -- Flask, Flask-Login and Flask-WTF read these, or call them as registered hooks (dialer/web/) ---
_.session_interface    # Flask app attribute: security.SessionInterface (Secure cookie behind a TLS proxy)
_.permanent            # flask.session.permanent: the session lasts PERMANENT_SESSION_LIFETIME (auth.py)
_.login_view           # LoginManager settings (security.py)
_.login_message
get_id                 # flask_login.UserMixin protocol (security.User)
get_cookie_secure      # flask SessionInterface hook (security.SessionInterface)
_load_user             # @login_manager.user_loader (security.py)
_csrf                  # @app.errorhandler(...) hooks (security.init)
_down
_store

# -- data for people and for the next reader ---------------------------------------------------
doc                    # config/settings.py Setting.doc: the meaning of each key, in the one table
_.__doc__              # docstrings of the generated General/Campaign classes (help(), pydoc)

# -- dialer-pbxsim's API for the tests and benchmarks that drive it --------------------------------
classes_to_str         # pbxsim/managerconf.py
max_concurrent         # pbxsim/record.py record queries (tests/plugins/pbxsim.py)
concurrent_at
overlapping_numbers
_.wait_connected       # ami/link.py, used by bench/ami_bench.py

# -- read by the tests that prove a defect fixed (test_ami.py: 64 KiB reads, not one per byte) --
_.bytes_read           # ami/connection.py

# -- store methods the engine runs through engine/database.py Database.call(name, ...) -----------
_.claim
_.held
_.leads_without_zone
_.set_zones
_.write_heartbeat      # engine/runtime.py
_.watchdog_interval    # notify.py: the Notifier's documented API, checked by test_systemd_unit_notify

# -- store/history.py HistoryEntry: a column filled through HistoryEntry(**fields) -------------
_.causecode
