"""Nodes: every dialer's heartbeat; one silent for three periods is shown as stopped."""
import flask

from .console import get_store
from .overview import STALE_AFTER, nodes
from .security import requires

bp = flask.Blueprint("nodes", __name__)


@bp.route("/nodes")
@requires("viewer")
def index():
    return flask.render_template("nodes.html", nodes=nodes(get_store()), stale_after=STALE_AFTER)
