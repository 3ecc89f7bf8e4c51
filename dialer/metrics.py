"""Prometheus metrics of the dialer and their HTTP endpoint (prometheus-client 0.16.0).

The engine never touches prometheus_client: it calls the methods of `Metrics`. Labels are
bounded on purpose (campaign names from the configuration, return codes from the manual's
table, outcome classes from `dialer.codes.OUTCOME_CLASSES`): a phone number, channel or
lead id as a label value would grow the series without limit.
"""
import platform
import socket
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, GCCollector, PlatformCollector, \
    ProcessCollector
from prometheus_client.exposition import make_wsgi_app

from dialer import __version__
from dialer.codes import OUTCOME_CLASSES, RETURN_CODES
from dialer.trunkhealth import FAILURE_KINDS, STATE_VALUES

# Codes outside the manual's table (e.g. a dialplan setting an arbitrary status) share one
# label value so that a misbehaving dialplan cannot create unbounded series.
OTHER_CODE = "other"
CODE_LABELS = tuple(str(c) for c in sorted(RETURN_CODES)) + (OTHER_CODE,)
LEAD_STATES = ("dialable", "waiting", "final")
RELOAD_RESULTS = ("success", "failure")

# Ring time is bounded by the campaign timeout (tens of seconds); calls last seconds to an hour.
ANSWER_DELAY_BUCKETS = (0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120)
CALL_DURATION_BUCKETS = (1, 5, 10, 20, 30, 60, 120, 180, 300, 600, 900, 1800, 3600)
ITERATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class MetricsError(OSError):
    """The endpoint could not be started; str() is a one-line message naming address:port.

    An OSError, so that callers handling socket errors at large handle this one too."""


def code_label(code) -> str:
    """The `code` label value of a return code: the code itself, or 'other' outside the table."""
    try:
        code = int(code)
    except (TypeError, ValueError):
        return OTHER_CODE
    return str(code) if code in RETURN_CODES else OTHER_CODE


def endpoint_name(address: str, port: int) -> str:
    """address:port as a user would type it (IPv6 in brackets)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


class _QuietHandler(WSGIRequestHandler):
    # Every scrape would otherwise print an access line to stderr, i.e. to the journal.
    def log_message(self, format, *args):
        pass


class Metrics:
    """Every metric of the dialer, with the methods the engine and service call.

    Per campaign (call `add_campaign` first; all its label sets then exist at zero):
      add_campaign(name, maxlines)     register/refresh a campaign and its dialer_lines_max;
                                       idempotent (use on reload)
      remove_campaign(name)            drop every series of a campaign that is gone
      attempt_started(name)            dialer_attempts_started_total += 1 (an Originate was sent)
      attempt_finished(name, code, outcome, answer_delay=None, duration=None)
                                       dialer_attempts_finished_total{outcome} and
                                       dialer_attempt_results_total{code} += 1; answer_delay
                                       (Originate to answer, s) and duration (answer to hangup,
                                       s) are observed when not None
      set_calls_live(name, n)          dialer_calls_live
      set_leads(name, dialable, waiting, final)   dialer_leads{state}
      set_window_open(name, is_open)   dialer_window_open (timeslot open and not in a pause)
      set_campaign_paused(name, paused)   dialer_campaign_paused (an operator's pause, every node)
    Per trunk (the campaigns' `trunk` names; trunkhealth.py):
      add_trunk(trunk)                 every series of the trunk at zero (closed); idempotent
      set_trunk_state(trunk, state)    dialer_trunk_state: 0 closed, 1 half-open, 2 open
      trunk_failure(trunk, kind)       dialer_trunk_failures_total{kind} += 1 (trunkhealth.FAILURE_KINDS)
      trunk_uncounted(trunk, n=1)      dialer_trunk_uncounted_total += n (leads put back, attempt not counted)
    Process-wide:
      set_ami_connected(connected)     dialer_ami_connected; a connection after the first one
                                       counts in dialer_ami_reconnects_total
      database_error()                 dialer_database_errors_total += 1
      set_database_connected(connected)   dialer_database_connected (starts at 1: set it to 0
                                       while waiting for the database at start)
      set_results_buffered(n)          dialer_results_buffered (results waiting for the database)
      observe_iteration(seconds)       dialer_engine_iteration_duration_seconds
      config_reloaded(ok, when=None)   dialer_config_reloads_total{result}, and on success
                                       dialer_config_last_reload_success_timestamp_seconds;
                                       dialer_config_last_reload_successful = 1/0
    Output:
      start_http(address, port)        serve `registry` over HTTP; port 0 disables; raises MetricsError

    Build this object once the configuration has loaded: the loaded configuration counts as
    the last successful (re)load.
    """

    def __init__(self, registry=None):
        if registry is None:
            registry = CollectorRegistry(auto_describe=True)
            # A private registry (not the global one) so that several instances can coexist in
            # one process (tests); add the standard process/python series by hand.
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.registry = registry
        self._campaigns = set()
        self._trunks = set()
        # Per-campaign children, looked up once, not by labels() per attempt (the engine's
        # thread only; remove_campaign drops a campaign's).
        self._kids = {}
        self._ami_seen = False
        self._ami_up = False
        self._lock = threading.Lock()
        self._httpd = None
        self.http_address = None

        r = registry
        camp = ("campaign",)
        self.build = Info("dialer_build", "Version of the running dialer.", registry=r)
        self.build.info({"version": __version__, "python": platform.python_version()})

        self.attempts_started = Counter(
            "dialer_attempts_started", "Call attempts started (Originate sent).", camp, registry=r)
        self.attempts_finished = Counter(
            "dialer_attempts_finished", "Call attempts finished, by outcome class.",
            camp + ("outcome",), registry=r)
        self.attempt_results = Counter(
            "dialer_attempt_results", "Call attempts finished, by return code written to the lead "
            "('other' for codes outside the manual's table).", camp + ("code",), registry=r)
        self.answer_delay = Histogram(
            "dialer_answer_delay_seconds", "Time from Originate to answer of answered attempts.",
            camp, buckets=ANSWER_DELAY_BUCKETS, registry=r)
        self.call_duration = Histogram(
            "dialer_call_duration_seconds", "Duration of answered calls, answer to hangup.",
            camp, buckets=CALL_DURATION_BUCKETS, registry=r)
        self.calls_live = Gauge(
            "dialer_calls_live", "Calls in progress (originated, not yet finished).", camp, registry=r)
        self.lines_max = Gauge(
            "dialer_lines_max", "Line limit of the campaign (maxlines).", camp, registry=r)
        self.leads = Gauge(
            "dialer_leads", "Leads by state: dialable now, waiting (retry time not reached or "
            "claimed), final (no more attempts).", camp + ("state",), registry=r)
        self.window_open = Gauge(
            "dialer_window_open", "1 while the campaign's calling window (timeslot minus pause) is open.",
            camp, registry=r)
        self.campaign_paused = Gauge(
            "dialer_campaign_paused", "1 while an operator has paused the campaign (dialer -a pause, web console): "
            "no new calls on any node.", camp, registry=r)

        trunk = ("trunk",)
        self.trunk_state = Gauge(
            "dialer_trunk_state", "Trunk breaker state: 0 closed, 1 half-open (probe calls), 2 open (no new calls).",
            trunk, registry=r)
        self.trunk_failures_total = Counter(
            "dialer_trunk_failures", "Attempts that failed on the trunk side, by kind.", trunk + ("kind",), registry=r)
        self.trunk_uncounted_total = Counter(
            "dialer_trunk_uncounted", "Leads put back without counting their attempt (trunk failure).",
            trunk, registry=r)

        self.ami_connected = Gauge(
            "dialer_ami_connected", "1 while logged in to the Asterisk Manager Interface.", registry=r)
        self.ami_reconnects = Counter(
            "dialer_ami_reconnects", "AMI logins after the first one (reconnections).", registry=r)
        self.database_errors = Counter(
            "dialer_database_errors", "Database operations that failed.", registry=r)
        self.database_connected = Gauge(
            "dialer_database_connected", "1 while the database answers.", registry=r)
        self.results_buffered = Gauge(
            "dialer_results_buffered", "Call results kept in memory until the database answers again.",
            registry=r)
        self.iteration = Histogram(
            "dialer_engine_iteration_duration_seconds", "Time spent in one engine loop iteration.",
            buckets=ITERATION_BUCKETS, registry=r)
        self.reloads = Counter(
            "dialer_config_reloads", "Configuration reloads, by result.", ("result",), registry=r)
        self.last_reload_ok = Gauge(
            "dialer_config_last_reload_successful", "1 if the last configuration reload succeeded.",
            registry=r)
        self.last_reload_ts = Gauge(
            "dialer_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load or reload.", registry=r)

        for result in RELOAD_RESULTS:
            self.reloads.labels(result)
        self.last_reload_ok.set(1)
        self.last_reload_ts.set(time.time())
        self.database_connected.set(1)

    # -- campaigns -------------------------------------------------------------------------
    def add_campaign(self, name, maxlines):
        with self._lock:
            known = name in self._campaigns
            self._campaigns.add(name)
        self.lines_max.labels(name).set(maxlines)
        if known:
            return
        self.attempts_started.labels(name)
        for outcome in OUTCOME_CLASSES:
            self.attempts_finished.labels(name, outcome)
        for code in CODE_LABELS:
            self.attempt_results.labels(name, code)
        self.answer_delay.labels(name)
        self.call_duration.labels(name)
        self.calls_live.labels(name).set(0)
        for state in LEAD_STATES:
            self.leads.labels(name, state).set(0)
        self.window_open.labels(name).set(0)
        self.campaign_paused.labels(name).set(0)

    def remove_campaign(self, name):
        with self._lock:
            if name not in self._campaigns:
                return
            self._campaigns.discard(name)
            for key in [k for k in self._kids if k[1] == name]:
                del self._kids[key]
        for metric in (self.attempts_started, self.answer_delay, self.call_duration,
                       self.calls_live, self.lines_max, self.window_open, self.campaign_paused):
            _forget(metric, name)
        for outcome in OUTCOME_CLASSES:
            _forget(self.attempts_finished, name, outcome)
        for code in CODE_LABELS:
            _forget(self.attempt_results, name, code)
        for state in LEAD_STATES:
            _forget(self.leads, name, state)

    # -- attempts --------------------------------------------------------------------------
    def _child(self, metric, campaign):
        kid = self._kids.get((metric, campaign))
        if kid is None:
            kid = self._kids[(metric, campaign)] = metric.labels(campaign)
        return kid

    def attempt_started(self, campaign):
        self._child(self.attempts_started, campaign).inc()

    def attempt_finished(self, campaign, code, outcome, answer_delay=None, duration=None):
        kids = self._kids.get(("finished", campaign, outcome, code))
        if kids is None:
            if outcome not in OUTCOME_CLASSES:
                raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOME_CLASSES)}")
            kids = self._kids[("finished", campaign, outcome, code)] = (
                self.attempts_finished.labels(campaign, outcome), self.attempt_results.labels(campaign, code_label(code)))
        kids[0].inc()
        kids[1].inc()
        if answer_delay is not None:
            self._child(self.answer_delay, campaign).observe(max(0.0, answer_delay))
        if duration is not None:
            self._child(self.call_duration, campaign).observe(max(0.0, duration))

    def set_calls_live(self, campaign, n):
        self._child(self.calls_live, campaign).set(n)

    def set_leads(self, campaign, dialable, waiting, final):
        self.leads.labels(campaign, "dialable").set(dialable)
        self.leads.labels(campaign, "waiting").set(waiting)
        self.leads.labels(campaign, "final").set(final)

    def set_window_open(self, campaign, is_open):
        self.window_open.labels(campaign).set(1 if is_open else 0)

    def set_campaign_paused(self, campaign, paused):
        self.campaign_paused.labels(campaign).set(1 if paused else 0)

    # -- trunks ----------------------------------------------------------------------------
    def add_trunk(self, trunk):
        if trunk in self._trunks:
            return
        self._trunks.add(trunk)
        self.trunk_state.labels(trunk).set(STATE_VALUES["closed"])
        self.trunk_uncounted_total.labels(trunk)
        for kind in FAILURE_KINDS:
            self.trunk_failures_total.labels(trunk, kind)

    def set_trunk_state(self, trunk, state):
        self.add_trunk(trunk)
        self.trunk_state.labels(trunk).set(STATE_VALUES[state])

    def trunk_failure(self, trunk, kind):
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind {kind!r} is not one of {', '.join(FAILURE_KINDS)}")
        self.add_trunk(trunk)
        self.trunk_failures_total.labels(trunk, kind).inc()

    def trunk_uncounted(self, trunk, n=1):
        self.add_trunk(trunk)
        self.trunk_uncounted_total.labels(trunk).inc(n)

    # -- links -----------------------------------------------------------------------------
    def set_ami_connected(self, connected):
        connected = bool(connected)
        with self._lock:
            reconnect = connected and self._ami_seen and not self._ami_up
            self._ami_seen = self._ami_seen or connected
            self._ami_up = connected
        if reconnect:
            self.ami_reconnects.inc()
        self.ami_connected.set(1 if connected else 0)

    def database_error(self):
        self.database_errors.inc()

    def set_database_connected(self, connected):
        self.database_connected.set(1 if connected else 0)

    def set_results_buffered(self, n):
        self.results_buffered.set(n)

    # -- engine and configuration ----------------------------------------------------------
    def observe_iteration(self, seconds):
        self.iteration.observe(max(0.0, seconds))

    def config_reloaded(self, ok, when=None):
        self.reloads.labels("success" if ok else "failure").inc()
        self.last_reload_ok.set(1 if ok else 0)
        if ok:
            self.last_reload_ts.set(time.time() if when is None else when)

    # -- output ----------------------------------------------------------------------------
    def start_http(self, address, port):
        """Serve the metrics on address:port in a daemon thread; port 0 disables the endpoint.

        Returns the bound (address, port), or None when disabled. Raises MetricsError with a
        one-line message naming address:port when the address is unusable or the port taken.
        """
        port = int(port)
        if port == 0:
            return None
        where = endpoint_name(address, port)
        if self._httpd is not None:
            raise MetricsError(f"metrics endpoint {where}: already serving on "
                               f"{endpoint_name(*self.http_address)}")
        hint = "(set metricsaddress/metricsport in [general], or metricsport=0 to disable)"
        try:
            family, _, _, _, sockaddr = socket.getaddrinfo(
                address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        except (socket.gaierror, UnicodeError, OverflowError) as exc:
            raise MetricsError(f"cannot listen for metrics on {where}: invalid address or port "
                               f"({_reason(exc)}) {hint}") from None

        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True
            address_family = family

        try:
            httpd = make_server(sockaddr[0], port, make_wsgi_app(self.registry), Server,
                                handler_class=_QuietHandler)
        except (OSError, OverflowError) as exc:
            raise MetricsError(f"cannot listen for metrics on {where}: {_reason(exc)} {hint}") from None
        thread = threading.Thread(target=httpd.serve_forever, name="metrics-http", daemon=True)
        thread.start()
        self._httpd = httpd
        self.http_address = (sockaddr[0], httpd.server_address[1])
        return self.http_address


def _forget(metric, *labels):
    try:
        metric.remove(*labels)
    except KeyError:
        pass


def _reason(exc):
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
