"""Raw ASGI for the scoring hot path: header lookup, body reading, a JSON reply.

A one-row ``POST /invocations`` costs the model microseconds; starlette's router,
its two exception middlewares and the ``Request``/``Response`` objects cost more
than the rest of the request together. These helpers let the app answer that one
route straight from the ASGI scope, with the same statuses, headers and bodies.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send

_JSON_TYPE = (b"content-type", b"application/json")


def body_headers(scope: Scope) -> tuple[str | None, str | None]:
    """``(Content-Length, Content-Type)`` of the request, each None when absent; one pass.

    >>> body_headers({"headers": [(b"content-type", b"text/csv")]})
    (None, 'text/csv')
    """
    length: str | None = None
    kind: str | None = None
    for key, value in scope["headers"]:
        if key == b"content-length":
            if length is None:
                length = value.decode("latin-1")
        elif key == b"content-type" and kind is None:
            kind = value.decode("latin-1")
    return length, kind


async def receive_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The request body, refused with 413 before it is read whole if it exceeds ``limit``.

    ``declared`` is the Content-Length header, checked before anything is read.
    A client that hangs up mid-body raises starlette's ``ClientDisconnect``.
    """
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):  # '²'.isdigit() is True
            raise HTTPException(400, "Content-Length must be a number of bytes")
        if int(declared) > limit:
            raise HTTPException(413, f"request body exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            chunk: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if not more and not chunks:
                if len(chunk) > limit:
                    raise HTTPException(413, f"request body exceeds the limit of {limit} bytes")
                return chunk  # the usual case: the whole body in one message
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
            if not more:
                return b"".join(chunks)
        elif kind == "http.disconnect":
            raise ClientDisconnect()


async def send_json(send: Send, body: bytes) -> None:
    """A 200 ``application/json`` response: the headers starlette's ``Response`` would send."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode("latin-1")), _JSON_TYPE],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 before it is read whole if it exceeds ``limit``."""
    body: bytes = await receive_body(request.receive, request.headers.get("content-length"), limit)
    return body


__all__ = ["body_headers", "read_body", "receive_body", "send_json"]
