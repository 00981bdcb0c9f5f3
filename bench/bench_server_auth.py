"""Cost of checking credentials in ``modelpack server --auth``, per request.

Times, in one process and one run: a bearer-token check (``AuthStore.authenticate``:
SHA-256 + one indexed SQLite lookup + the role), a cached Basic login, the first
(uncached) Basic login (scrypt), and as the baseline a bare SHA-256 + dict lookup.

    python bench/bench_server_auth.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from modelpack.server.auth import AuthStore


def _per_call_us(fn: Callable[[], object], calls: int, repeat: int = 5) -> float:
    results = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        results.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = AuthStore(Path(tmp) / "auth.db")
        store.create_user("alice", "alice-password-1", "EDIT")
        for _ in range(1000):  # a table with many tokens, as a team's would be
            store.create_token("alice")
        token = store.create_token("alice")
        bearer = f"Bearer {token}"
        basic = "Basic " + base64.b64encode(b"alice:alice-password-1").decode()
        table = {hashlib.sha256(token.encode()).hexdigest(): "alice"}

        def baseline() -> object:
            return table[hashlib.sha256(token.encode()).hexdigest()]

        base = _per_call_us(baseline, args.calls)
        token_us = _per_call_us(lambda: store.authenticate(bearer), args.calls)
        cached_us = _per_call_us(lambda: store.authenticate(basic), args.calls)
        scrypt_us = _per_call_us(lambda: AuthStore(store.path).authenticate(basic), 10, 3)
    print(f"baseline sha256 + dict lookup   {base:8.2f} us")
    print(f"bearer token check              {token_us:8.2f} us  ({token_us / base:.1f}x baseline)")
    print(
        f"basic login, cached             {cached_us:8.2f} us  ({cached_us / base:.1f}x baseline)"
    )
    print(
        f"basic login, first (scrypt)     {scrypt_us:8.0f} us  ({scrypt_us / base:.0f}x baseline)"
    )


if __name__ == "__main__":
    main()
