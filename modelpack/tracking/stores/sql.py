"""Which tracking store lives where, and safe access to its SQLite database.

A store is one SQLite file for metadata plus one artifact directory. Every write
runs inside ``BEGIN IMMEDIATE`` (the write lock is taken up front, so two writers
never deadlock upgrading a read lock), with SQLite's ``busy_timeout`` and a retry
with backoff on top, so concurrent processes wait instead of failing. SQLite and
OS failures leave as :class:`~modelpack.errors.StoreError` with a clear message.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from modelpack.errors import StoreError
from modelpack.tracking.stores.location import StoreLocation, locate_store
from modelpack.tracking.stores.schema import MIGRATIONS, SCHEMA_VERSION, statements

T = TypeVar("T")

_BUSY_TIMEOUT_MS = 5_000
_RETRY_DEADLINE_S = 120.0
_STALE_STAGING_S = 24 * 3600.0


def _explain(exc: BaseException, db_path: Path) -> str:
    text = str(exc).lower()
    where = f"tracking store '{db_path}'"
    if "full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return f"{where}: the disk is full; free some space and retry (nothing was written)"
    if "readonly" in text or "read-only" in text or getattr(exc, "errno", None) == errno.EROFS:
        return f"{where} is read-only; point MODELPACK_TRACKING_URI at a writable location"
    if "unable to open" in text or isinstance(exc, PermissionError):
        return f"{where} cannot be opened; check that the directory exists and is writable"
    if "not a database" in text or "malformed" in text:
        return f"{where} is not a modelpack store or is corrupt; restore it from a backup"
    return f"{where} failed: {exc}"


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Store:
    """One tracking store: per-thread SQLite connections, retried transactions.

    >>> store = Store(locate_store("sqlite:////tmp/example.db"))  # doctest: +SKIP
    >>> store.read("SELECT count(*) FROM runs")  # doctest: +SKIP
    """

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self.db_path = location.db_path
        self.artifact_root = location.artifact_root
        self.staging_dir = location.artifact_root / ".staging"
        self._local = threading.local()
        self._migrated = False

    def __repr__(self) -> str:
        return f"Store({self.location.tracking_uri!r})"

    # -- connections -------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (reopened after ``fork``), migrated on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        conn = self._retry(self._connect)
        self._local.conn, self._local.pid = conn, os.getpid()
        if not self._migrated:
            self._retry(lambda: self._migrate(conn))
            self._migrated = True
            self._sweep_staging()
        return conn

    def _sweep_staging(self) -> None:
        # Leftovers of writers killed mid-write; only old ones, so live writers are safe.
        cutoff = time.time() - _STALE_STAGING_S
        try:
            for entry in self.staging_dir.iterdir():
                if entry.stat().st_mtime < cutoff:
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
        except OSError:
            pass

    def _connect(self) -> sqlite3.Connection:
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            self.staging_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(_explain(exc, self.db_path)) from None
        conn = sqlite3.connect(
            self.db_path,
            timeout=_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if self._schema_version(conn) == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS modelpack_schema (version INTEGER NOT NULL)")
            current = self._schema_version(conn)
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"tracking store '{self.db_path}' has schema {current}, newer than this "
                    f"modelpack understands ({SCHEMA_VERSION}); upgrade modelpack"
                )
            for script in MIGRATIONS[current:]:
                for statement in statements(script):
                    conn.execute(statement)
            conn.execute("DELETE FROM modelpack_schema")
            conn.execute("INSERT INTO modelpack_schema VALUES (?)", (SCHEMA_VERSION,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @staticmethod
    def _schema_version(conn: sqlite3.Connection) -> int:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'modelpack_schema'"
        ).fetchone()
        if not exists:
            return 0
        row = conn.execute("SELECT version FROM modelpack_schema").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close this thread's connection (other threads keep theirs)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local = threading.local()

    # -- statements ----------------------------------------------------------------

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Run one query and return all rows."""
        return self._retry(lambda: self.connection().execute(sql, params).fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement in its own (autocommitted) transaction, retried while busy."""
        return self._retry(lambda: self.connection().execute(sql, params))

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work(conn)`` in one write transaction; retried whole while the store is busy.

        ``work`` may run more than once, so its effects outside the database must be
        idempotent.
        """

        def attempt() -> T:
            conn = self.connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return self._retry(attempt)

    def _retry(self, attempt: Callable[[], T]) -> T:
        deadline = time.monotonic() + _RETRY_DEADLINE_S
        delay = 0.005
        while True:
            try:
                return attempt()
            except sqlite3.IntegrityError:
                raise
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise StoreError(_explain(exc, self.db_path)) from None
            except sqlite3.DatabaseError as exc:
                raise StoreError(_explain(exc, self.db_path)) from None
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.25)


@contextmanager
def os_errors(where: Path) -> Iterator[None]:
    """Turn an ``OSError`` on the artifact side into a :class:`StoreError`."""
    try:
        yield
    except OSError as exc:
        raise StoreError(_explain(exc, where)) from None


_STORES: dict[StoreLocation, Store] = {}
_STORES_LOCK = threading.Lock()


def get_store(tracking_uri: str) -> Store:
    """The (cached) :class:`Store` for ``tracking_uri``."""
    location = locate_store(tracking_uri)
    with _STORES_LOCK:
        store = _STORES.get(location)
        if store is None:
            store = _STORES[location] = Store(location)
        return store


__all__ = ["Store", "get_store", "os_errors"]
