"""What every view needs: the configuration and a store connection of this thread."""
import threading

import flask

from .. import store


class Console:
    def __init__(self, cfg):
        self.cfg = cfg
        self._local = threading.local()
        self._ready = False

    def store(self):
        """This thread's Store (one connection, reopened by the store after a loss)."""
        st = getattr(self._local, "store", None)
        if st is None:
            st = self._local.store = store.open_store(self.cfg.general)
        if not self._ready:
            # A database made before the console or the runtime control: their tables, once per process.
            st.ensure_control()
            st.ensure_console()
            self._ready = True
        return st


def current():
    return flask.current_app.extensions["dialer"]


def get_store():
    return current().store()

