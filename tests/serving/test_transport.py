"""One write per response: HTTP still behaves on a raw socket, byte by byte.

The server's transport holds a response's header and body writes and sends them
together. These tests speak HTTP/1.1 by hand to the real server, for the cases where
holding a write could go wrong: keep-alive, ``Connection: close``, a header-only
``HEAD`` answer, and ``Expect: 100-continue``.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from modelpack.serving.http.transport import HOLD_LIMIT, OneWriteTransport

BODY = json.dumps(
    {
        "dataframe_split": {
            "columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
            "data": [[5.1, 3.5, 1.4, 0.2]],
        }
    }
).encode()


def _connect(server: Any) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _read_response(
    sock: socket.socket, buffer: bytearray, head: bool = False
) -> tuple[bytes, dict[str, str], bytes]:
    """One response from ``sock``: status line, headers, body (by Content-Length)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-headers after {bytes(buffer)!r}"
        buffer += chunk
    raw_head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status, *lines = raw_head.split(b"\r\n")
    headers = {
        k.decode().lower(): v.decode().strip() for k, v in (ln.split(b":", 1) for ln in lines)
    }
    length = 0 if head else int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        rest += chunk
    buffer[:] = rest[length:]
    return status, headers, rest[:length]


def _post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


def test_keep_alive_answers_every_request_whole(iris_server: Any) -> None:
    with _connect(iris_server) as sock:
        buffer = bytearray()
        sock.sendall(_post("/invocations", BODY) * 3)  # pipelined: three in one send
        bodies = [_read_response(sock, buffer) for _ in range(3)]
        sock.sendall(_post("/invocations", BODY))
        bodies.append(_read_response(sock, buffer))

    assert [status for status, _, _ in bodies] == [b"HTTP/1.1 200 OK"] * 4
    assert all(json.loads(body) == {"predictions": [0]} for _, _, body in bodies)
    assert buffer == b""


def test_connection_close_sends_the_whole_response_then_closes(iris_server: Any) -> None:
    with _connect(iris_server) as sock:
        buffer = bytearray()
        sock.sendall(_post("/invocations", BODY, "Connection: close\r\n"))
        status, headers, body = _read_response(sock, buffer)
        assert sock.recv(1) == b""  # then the server closed

    assert status == b"HTTP/1.1 200 OK"
    assert headers["connection"] == "close"
    assert "server" not in headers  # nothing advertises the server software
    assert json.loads(body) == {"predictions": [0]}


def test_header_only_answer_is_sent_and_the_connection_reused(iris_server: Any) -> None:
    with _connect(iris_server) as sock:
        buffer = bytearray()
        sock.sendall(b"HEAD /ping HTTP/1.1\r\nHost: test\r\n\r\n")
        status, _, body = _read_response(sock, buffer, head=True)
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: test\r\n\r\n")
        status2, _, version = _read_response(sock, buffer)

    assert status == b"HTTP/1.1 200 OK" and body == b""
    assert status2 == b"HTTP/1.1 200 OK" and version


def test_expect_100_continue(iris_server: Any) -> None:
    with _connect(iris_server) as sock:
        buffer = bytearray()
        request = _post("/invocations", BODY, "Expect: 100-continue\r\n")
        sock.sendall(request[: -len(BODY)])
        interim, _, _ = _read_response(sock, buffer, head=True)
        sock.sendall(BODY)
        status, _, body = _read_response(sock, buffer)

    assert interim == b"HTTP/1.1 100 Continue"
    assert status == b"HTTP/1.1 200 OK" and json.loads(body) == {"predictions": [0]}


class _Sink(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set_result(exc)


async def _pair() -> tuple[OneWriteTransport, _Sink, asyncio.AbstractServer]:
    loop = asyncio.get_running_loop()
    sink = _Sink()
    server = await loop.create_server(lambda: sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    return OneWriteTransport(transport, loop), sink, server  # type: ignore[arg-type]


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_writes_of_one_callback_leave_together_and_in_order(loop_name: str) -> None:
    async def scenario() -> tuple[int, int, bytes]:
        transport, sink, server = await _pair()
        transport.write(b"head|")
        transport.write(memoryview(b"body|"))
        transport.write(b"")
        held = transport.get_write_buffer_size()
        await asyncio.sleep(0.05)
        sent_before_close = len(sink.data)
        transport.write(b"last")
        transport.close()  # flushes what is held, then closes
        await asyncio.wait_for(sink.closed, 5)
        server.close()
        return held, sent_before_close, bytes(sink.data)

    held, sent, data = _run(scenario(), loop_name)
    assert held == len(b"head|body|")
    assert sent == len(b"head|body|")
    assert data == b"head|body|last"


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_abort_drops_what_is_held(loop_name: str) -> None:
    async def scenario() -> bytes:
        transport, sink, server = await _pair()
        transport.write(b"never sent")
        transport.abort()
        await asyncio.wait_for(sink.closed, 5)
        server.close()
        return bytes(sink.data)

    assert _run(scenario(), loop_name) == b""


class _Writer(asyncio.Protocol):
    def __init__(self) -> None:
        self.paused = False

    def pause_writing(self) -> None:
        self.paused = True


class _Stalled(asyncio.Protocol):
    """A peer that reads nothing: what is sent to it piles up in the socket buffers."""

    accepted: list[asyncio.BaseTransport] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.pause_reading()  # type: ignore[attr-defined]
        self.accepted.append(transport)


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_a_large_body_meets_flow_control_within_the_callback(loop_name: str) -> None:
    async def scenario() -> tuple[bool, int]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Stalled, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        raw, writer = await loop.create_connection(_Writer, "127.0.0.1", port)
        transport = OneWriteTransport(raw, loop)  # type: ignore[arg-type]
        chunk = b"x" * 65536
        for _ in range(256):  # 16 MB in one callback, more than loopback buffers take
            transport.write(chunk)
        paused_before_yielding = writer.paused
        held = transport.get_write_buffer_size() - raw.get_write_buffer_size()
        transport.abort()
        # close the peer's end inside the loop: a transport left to the garbage collector
        # warns from __del__ at some later collection, which on CPython 3.11.7 can land
        # inside ast.parse and break it for the rest of the process
        while _Stalled.accepted:
            _Stalled.accepted.pop().abort()
        server.close()
        await server.wait_closed()
        return paused_before_yielding, held

    paused, held = _run(scenario(), loop_name)
    assert paused  # the real transport saw the data and asked the writer to wait
    assert held <= HOLD_LIMIT


def _run(coro: Any, loop_name: str) -> Any:
    if loop_name == "uvloop":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)
