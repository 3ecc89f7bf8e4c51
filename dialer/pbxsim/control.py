"""Client side of the control socket (`dialer-pbxsim ctl`, the test fixture)."""
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
