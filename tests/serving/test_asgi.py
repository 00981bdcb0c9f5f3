"""The raw ASGI body reader: limits and malformed lengths, below what uvicorn already parses."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.exceptions import HTTPException

from modelpack.serving.http.asgi import body_headers, receive_body


def _receiver(*chunks: bytes) -> Any:
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


@pytest.mark.parametrize("declared", ["12x", "-1", "²", "١٢", " 12"])
def test_malformed_content_length_is_a_400(declared: str) -> None:
    with pytest.raises(HTTPException) as err:
        asyncio.run(receive_body(_receiver(b"{}"), declared, 100))
    assert err.value.status_code == 400


def test_declared_or_streamed_excess_is_a_413() -> None:
    with pytest.raises(HTTPException) as err:
        asyncio.run(receive_body(_receiver(b"{}"), "101", 100))
    assert err.value.status_code == 413
    with pytest.raises(HTTPException) as err:
        asyncio.run(receive_body(_receiver(b"x" * 60, b"y" * 60), None, 100))
    assert err.value.status_code == 413


def test_chunks_are_joined_in_order() -> None:
    body = asyncio.run(receive_body(_receiver(b'{"a"', b": 1}"), None, 100))
    assert body == b'{"a": 1}'
    assert body_headers({"headers": [(b"content-length", b"8")]}) == ("8", None)
