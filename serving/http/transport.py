"""One socket write per response instead of two.

uvicorn writes a response's status line and headers, then its body, as two
``transport.write`` calls; with ``TCP_NODELAY`` each is its own ``send()`` system call
and its own packet. For a small JSON answer those two calls were over a third of the
server's CPU time per request. The protocol here gives uvicorn a transport that holds
what is written during one event-loop callback and sends it as one write when the
callback is over (at once when the transport is closed, or when more than
:data:`HOLD_LIMIT` bytes are held, so a large or streamed body still meets the real
transport's flow control).

Only the asyncio ``Transport`` interface is relied on: the protocol overrides
``connection_made``, a standard asyncio ``Protocol`` method, and nothing else.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: bytes held before they are sent without waiting for the end of the callback
HOLD_LIMIT = 64 * 1024


class OneWriteTransport:
    """A transport proxy that sends the writes of one loop callback as one ``write``.

    >>> transport = OneWriteTransport(real_transport, loop)  # doctest: +SKIP
    >>> transport.write(b"HTTP/1.1 200 OK\\r\\n\\r\\n"); transport.write(b"{}")  # doctest: +SKIP
    """

    __slots__ = ("_flush_handle", "_held", "_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._held = 0
        self._flush_handle: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        chunk = bytes(data)
        self._pending.append(chunk)
        self._held += len(chunk)
        if self._held > HOLD_LIMIT:
            self.flush()
        elif self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        self._flush_handle = None
        pending = self._pending
        if not pending:
            return
        self._pending = []
        self._held = 0
        if self._transport.is_closing():
            return  # the peer went away: what was held has nowhere to go
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def flush(self) -> None:
        """Send what is held now, rather than at the end of this loop callback."""
        handle = self._flush_handle
        if handle is not None:
            handle.cancel()
        self._flush()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._pending = []
        self._held = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._held + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        # everything else (get_extra_info, is_closing, pause_reading, ...) as is
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through a :class:`OneWriteTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        proxy: Any = OneWriteTransport(transport, self.loop)
        super().connection_made(proxy)


__all__ = ["HOLD_LIMIT", "OneWriteHttpToolsProtocol", "OneWriteTransport"]
