"""What the serving tests share besides fixtures: the ``modelpack serve`` process handle
and its launcher, and the data the session models are trained on.

Imported by name (``from serving_helpers import Server``) rather than from
``conftest``, which pytest loads once per folder: ``import conftest`` finds whichever
folder's conftest comes first on ``sys.path``.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@dataclass
class Server:
    """A running ``modelpack serve`` process."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""
    client: httpx.Client = field(init=False, repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60.0, need_ping: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            if not self.url:
                match = re.search(r"on (http://127\.0\.0\.1:\d+)", self.log())
                if match:
                    self.url = match.group(1)
                    self.client = httpx.Client(base_url=self.url, timeout=30)
            if self.url and not need_ping:
                return
            if self.url:
                try:
                    if self.client.get("/ping").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.url:
            self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def launch(
    model: Path | str,
    *args: str,
    env: dict[str, str] | None = None,
    log_dir: Path,
    ready: bool = True,
) -> Server:
    """Start ``modelpack serve -m model --port 0 *args``; return once it answers /ping
    (or, with ``ready=False``, once it listens)."""
    log_path = log_dir / f"server-{time.monotonic_ns()}.log"
    command = [sys.executable, "-c", "from modelpack.cli import main; main()", "serve"]
    command += ["-m", str(model), "--host", "127.0.0.1", "--port", "0", *args]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    server = Server(proc, log_path)
    try:
        server.wait_ready(need_ping=ready)
    except Exception:
        server.stop(signal.SIGKILL)
        raise
    return server


def mixed_frame(n: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "age": rng.integers(18, 80, n).astype("int64"),
            "income": rng.normal(3000, 800, n),
        }
    )
    target = ((frame["income"] > 3000) ^ (frame["city"] == "lyon")).astype(int).to_numpy()
    return frame, target
