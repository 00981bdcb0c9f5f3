"""Run a ``modelpack serve`` command line as its own process, wait until it answers,
and stop it: for the tests that run commands exactly as a user types them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

_LISTENING = re.compile(r"on (http://127\.0\.0\.1:\d+)")


@contextmanager
def serving(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120.0
) -> Iterator[str]:
    """Start ``argv`` (a serve command, ``--port 0`` or a free port), yield its base URL
    once ``/ping`` answers, and stop it with SIGTERM (SIGKILL after 30 s) on the way out."""
    log_path = cwd / f"serve-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            list(argv), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env or dict(os.environ)
        )
    try:
        yield _wait_ready(proc, log_path, timeout)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], log_path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    url = ""
    while time.monotonic() < deadline:
        log = log_path.read_text(errors="replace")
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log[-3000:]}")
        found = _LISTENING.search(log)
        if found:
            url = found.group(1)
            try:
                if httpx.get(f"{url}/ping", timeout=5).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout} s:\n{log_path.read_text()[-3000:]}")


__all__ = ["serving"]
