"""A real PostgreSQL server for the tests: started once per session on a loopback port.

Uses the Debian server binaries (``/usr/lib/postgresql/<major>/bin``); where they are
missing it installs the ``postgresql`` package with apt-get, and fails loudly if that
is impossible — a missing database server fails the tests that need it, never skips
them. The cluster lives in a temp directory owned by the ``postgres`` user (``initdb``
refuses to run as root), trusts loopback connections, runs with ``fsync=off``, and is
stopped by the PID in its ``postmaster.pid``.

>>> server = PostgresServer.start()  # doctest: +SKIP
>>> url = server.create_database()  # doctest: +SKIP
>>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.debian import apt_install


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        apt_install("postgresql", "the store tests")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL server binaries are still missing after apt-get install")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(*argv: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)


@dataclass
class PostgresServer:
    """One running cluster: ``url(db)`` names a database on it."""

    data_dir: Path
    port: int
    bin_dir: Path

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = _bin_dir()
        root = Path(tempfile.mkdtemp(prefix="modelpack-pg-"))
        data_dir = root / "data"
        data_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(data_dir, "postgres")
        subprocess.run(
            _as_postgres(
                str(bin_dir / "initdb"), "-D", str(data_dir), "-A", "trust", "-U", "postgres"
            ),
            check=True,
            capture_output=True,
        )
        server = cls(data_dir, _free_port(), bin_dir)
        server._pg_ctl_start()
        return server

    def _pg_ctl_start(self) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c unix_socket_directories={self.data_dir} -c max_connections=200"
        )
        subprocess.run(
            _as_postgres(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-w",
                "-l",
                str(self.data_dir / "server.log"),
                "-o",
                options,
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def url(self, database: str = "postgres", password: str = "") -> str:
        secret = f":{password}" if password else ""
        return f"postgresql://postgres{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh empty database; its ``postgresql://`` URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database ``url`` names (as :meth:`create_database` made it), closing
        whatever is connected to it, autovacuum included."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])

    def stop(self, remove: bool = True) -> None:
        """Fast shutdown by PID (SIGINT), waited for; the data directory removed if asked."""
        try:
            pid = self.pid()
        except (OSError, ValueError):
            pid = 0
        if pid:
            os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        if remove:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def restart(self) -> None:
        """Stop and start again on the same port (data kept): a server restart mid-job."""
        self.stop(remove=False)
        self._pg_ctl_start()
