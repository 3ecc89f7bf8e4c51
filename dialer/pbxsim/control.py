"""The control socket: a Unix socket taking one text command per connection.

`send` is the client side (`dialer-pbxsim ctl`, the test fixture); ControlServer the
simulator's side: `fault NAME [seconds=N] [ms=N]`, `stats`, `stop`.
"""
import json
import os
import selectors
import socket


def send(path, command, timeout=10.0) -> str:
    """Send one command line; -> the reply line ('ok ...' or 'error ...'). Raises OSError."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        s.sendall((command + "\n").encode())
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply.decode().strip()


class ControlServer:
    def __init__(self, sim, path):
        self.sim = sim
        self.path = path
        self.sock = None

    def open(self):
        if not self.path:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.listen(8)
        s.setblocking(False)
        self.sock = s
        self.sim.sel.register(s, selectors.EVENT_READ, self.on_accept)

    def close(self):
        if self.sock is None:
            return
        self.sock.close()
        self.sock = None
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def on_accept(self, mask):
        try:
            sock, _ = self.sock.accept()
        except OSError:
            return
        sock.settimeout(2.0)
        try:
            line = b""
            while not line.endswith(b"\n") and len(line) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                line += chunk
            reply = self.command(line.decode("utf-8", "replace").strip())
            sock.sendall((reply + "\n").encode())
        except OSError:
            pass
        finally:
            sock.close()

    def command(self, line):
        """One command line -> 'ok ...' or 'error ...'."""
        sim = self.sim
        words = line.split()
        if not words:
            return "error empty command"
        if words[0] == "stats":
            return "ok " + json.dumps({"live_calls": len(sim.calls),
                                       "live_channels": len(sim.channels.live),
                                       "sessions": len(sim.sessions),
                                       "logged_in": len(sim.listeners),
                                       "port": sim.port, "hung": sim.faults.hung,
                                       "listening": sim.listen_sock is not None, **sim.stats})
        if words[0] == "stop":
            sim.stopping = True
            return "ok"
        if words[0] == "fault" and len(words) >= 2:
            kw = {}
            for w in words[2:]:
                k, _, v = w.partition("=")
                if k not in ("seconds", "ms"):
                    return f"error unknown option {k!r} (expected seconds=N or ms=N)"
                try:
                    kw[k] = float(v)
                except ValueError:
                    return f"error {k}={v!r}: expected a number"
            try:
                sim.faults.fault(words[1], **kw)
            except ValueError as e:
                return f"error {e}"
            return "ok"
        return f"error unknown command {line!r} (expected fault NAME, stats or stop)"
