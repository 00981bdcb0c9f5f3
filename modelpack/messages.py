"""How error messages name things that may come from a user's request or file.

Names (columns, inputs, params) are quoted so that a message stays short and never
carries a payload: each name is cut, and only the first few are listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: longest name, and most names, a message quotes (names may come from a request)
_NAME_CHARS = 64
_NAMES = 20


def quoted(names: Iterable[Any]) -> str:
    """``'a', 'b'``: names for a message, each cut to 64 characters, at most 20 of them.

    >>> quoted(["a", "b" * 100])
    "'a', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb…'"
    """
    shown: list[str] = []
    rest = 0
    for name in names:
        if len(shown) == _NAMES:
            rest += 1
            continue
        text = str(name)
        shown.append(f"'{text[:_NAME_CHARS]}…'" if len(text) > _NAME_CHARS else f"'{text}'")
    return ", ".join(shown) + (f" and {rest} more" if rest else "")


__all__ = ["quoted"]
