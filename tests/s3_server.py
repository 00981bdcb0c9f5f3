"""A real S3 endpoint for the tests: ``moto_server`` on a loopback port, one per session.

``moto_server`` (from ``moto[server]``, in the ``test`` extra) speaks S3's HTTP API; the
code under test reaches it through boto3 exactly as it would reach AWS or MinIO. A
missing binary fails the tests that need it (it is never a skip). The server is
stopped by its PID.

>>> server = MotoServer.start()  # doctest: +SKIP
>>> server.create_bucket("models")  # doctest: +SKIP
>>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the credentials moto accepts; real ones never come near the tests
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-do-not-print",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def moto_binary() -> str:
    """``moto_server`` beside this interpreter, else on PATH; a clear failure if neither."""
    beside = Path(sys.executable).with_name("moto_server")
    if beside.is_file():
        return str(beside)
    found = shutil.which("moto_server")
    if found is None:
        raise RuntimeError(
            "moto_server is needed by the S3 artifact store tests: pip install 'moto[server]' "
            "(it is in the test extra: pip install -e '.[test]')"
        )
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    """One running ``moto_server``; ``url`` is its endpoint."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, port: int | None = None) -> MotoServer:
        port = port or _free_port()
        log = Path(tempfile.mkdtemp(prefix="modelpack-moto-")) / "moto.log"
        with open(log, "wb") as sink:
            process = subprocess.Popen(
                [moto_binary(), "-H", "127.0.0.1", "-p", str(port)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, **CREDENTIALS},
            )
        server = cls(process, port, log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited at start: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return server
            except OSError:
                time.sleep(0.1)
        server.stop()
        raise RuntimeError(f"moto_server did not listen on port {port} within 60 s")

    def client(self) -> Any:
        import boto3

        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        ).client("s3", endpoint_url=self.url)

    def create_bucket(self, name: str | None = None) -> str:
        """A fresh bucket (a new name unless given); its name."""
        name = name or f"b-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def environ(self) -> dict[str, str]:
        """What a client process needs to reach this endpoint."""
        return {**CREDENTIALS, "MODELPACK_S3_ENDPOINT_URL": self.url}

    def stop(self) -> None:
        """Stop by PID (SIGTERM, then SIGKILL) and wait for it."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        shutil.rmtree(self.log.parent, ignore_errors=True)
