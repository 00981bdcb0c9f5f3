"""A tracking server URI split into where to connect and who to be, so the credentials a URI
may carry (``http://me:secret@host:5000``) never reach a message, a log line or a repr.

Parsing imports no HTTP library: ``set_tracking_uri`` validates with it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from modelpack.errors import InvalidURI

_EXPECTED = "expected http(s)://host:port (optionally with a path prefix)"


@dataclass(frozen=True)
class ServerURL:
    """``base`` is the URL to send requests to (no credentials); ``where`` is
    ``host:port`` for messages. ``username``/``password`` come from the URI's user part."""

    base: str
    where: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


def server_url(uri: str) -> ServerURL:
    """Parse a tracking server URI.

    >>> server_url("http://me:pw@127.0.0.1:5000/").base
    'http://127.0.0.1:5000'
    >>> server_url("http://me:pw@127.0.0.1:5000/").where
    '127.0.0.1:5000'
    """
    if not isinstance(uri, str) or "\x00" in uri or any(c.isspace() for c in uri):
        raise InvalidURI(f"tracking server URI must have no spaces or NUL characters; {_EXPECTED}")
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        raise InvalidURI(
            f"tracking server URI has an unreadable host or port; {_EXPECTED}"
        ) from None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise InvalidURI(f"tracking server URI names no host; {_EXPECTED}")
    if parts.query or parts.fragment:
        raise InvalidURI(f"tracking server URI must have no '?' query or '#' part; {_EXPECTED}")
    shown_host = f"[{host}]" if ":" in host else host
    where = f"{shown_host}:{port}" if port is not None else shown_host
    base = f"{scheme}://{where}{parts.path.rstrip('/')}"
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return ServerURL(base, where, username, password)


__all__ = ["ServerURL", "server_url"]
