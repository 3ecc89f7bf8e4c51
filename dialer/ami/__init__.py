"""The dialer's Asterisk Manager Interface client: pyst2 0.5.1, wrapped.

    link = ami.AmiLink(host, port, user, secret, events_queue)
    link.start()
    link.originate(action_id, headers, variables) -> Response

Queue items: Connected, Disconnected, AuthFailed, Shutdown, or a Message (any other event).
See docs/ami.md.
"""
from .connection import ActionTimeout, AuthError, ConnectError, Connection, NotConnected
from .link import EVENT_MASK, ActionError, AmiLink, AuthFailed, Connected, Disconnected, Shutdown
from .wire import AmiError, HeaderError, Message, Response, encode_action, parse_text

__all__ = [
    "ActionError", "ActionTimeout", "AmiError", "AmiLink", "AuthError", "AuthFailed", "ConnectError",
    "Connected", "Connection", "Disconnected", "EVENT_MASK", "HeaderError", "Message", "NotConnected",
    "Response", "Shutdown", "encode_action", "parse_text",
]
