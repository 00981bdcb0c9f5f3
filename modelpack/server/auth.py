"""Users and API tokens of ``modelpack server --auth``, in their own SQLite file.

Passwords are stored as scrypt hashes (salted, memory-hard); API tokens are 256 random
bits shown once and stored only as their SHA-256, so a token is checked with one hash
and one indexed lookup. A user's role (NONE < READ < EDIT < MANAGE) is what they may
do everywhere; a grant raises it on one experiment (and its runs) or one registered
model (and its versions), never lowers it.

>>> users = AuthStore("auth.db")  # doctest: +SKIP
>>> users.create_user("alice", "s3cret-pass", "EDIT")  # doctest: +SKIP
>>> users.create_token("alice")  # doctest: +SKIP
'mpk_...'
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from modelpack.errors import AlreadyExists, InvalidInput, NotFound, Unauthenticated
from modelpack.server.endpoint import Permission

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username),
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    username TEXT NOT NULL REFERENCES users(username), experiment_id TEXT NOT NULL,
    permission TEXT NOT NULL, PRIMARY KEY (username, experiment_id)
);
CREATE TABLE IF NOT EXISTS ui_sessions (
    id_sha256 TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username),
    expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS model_grants (
    username TEXT NOT NULL REFERENCES users(username), model_name TEXT NOT NULL,
    permission TEXT NOT NULL, PRIMARY KEY (username, model_name)
);
"""
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}")
MIN_PASSWORD = 8
TOKEN_PREFIX = "mpk_"
_CACHE_LIMIT = 1024


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for ``password`` with a fresh random salt."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        again = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(again.hex(), digest)


def _level(name: str) -> Permission:
    if name.upper() not in Permission.__members__:
        raise InvalidInput(f"role must be one of {', '.join(Permission.__members__)}")
    return Permission[name.upper()]


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthStore:
    """The users and tokens file; safe to share between threads (one connection each)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        # (username, sha256(password)) pairs already checked with scrypt
        self._verified: dict[tuple[str, str], str] = {}

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.executescript(_SCHEMA)
            self._local.conn = conn
        return conn

    def create_user(self, username: str, password: str, role: str = "EDIT") -> None:
        """Add a user; ``AlreadyExists`` if the name is taken."""
        if not _USERNAME.fullmatch(username):
            raise InvalidInput(
                "username must be 1-128 letters, digits, '_', '.', '@' or '-', "
                "starting with a letter or digit"
            )
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(f"password must be at least {MIN_PASSWORD} characters long")
        level = _level(role)
        try:
            self._conn().execute(
                "INSERT INTO users VALUES (?, ?, ?)",
                (username, hash_password(password), level.name),
            )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"user '{username}' already exists") from None

    def create_token(self, username: str) -> str:
        """A new API token for ``username``; only its SHA-256 is kept."""
        if (
            self._conn().execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone()
            is None
        ):
            raise NotFound(f"no user '{username}'; create it with 'modelpack server users create'")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._conn().execute(
            "INSERT INTO tokens VALUES (?, ?, ?)",
            (_token_digest(token), username, time.time_ns() // 1_000_000),
        )
        return token

    def create_session(self, username: str, seconds: float, limit: int) -> str:
        """A new web UI session for ``username``, valid ``seconds``; only its SHA-256 is
        kept, in this file, so every worker process (and a restarted server) knows it.
        Expired sessions are dropped, and the oldest beyond ``limit``."""
        session_id = secrets.token_urlsafe(32)
        now = time.time_ns() // 1_000_000
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM ui_sessions WHERE expires_ms <= ?", (now,))
            conn.execute(
                "DELETE FROM ui_sessions WHERE id_sha256 IN (SELECT id_sha256 FROM "
                "ui_sessions ORDER BY expires_ms DESC LIMIT -1 OFFSET ?)",
                (max(0, limit - 1),),
            )
            conn.execute(
                "INSERT INTO ui_sessions VALUES (?, ?, ?)",
                (_token_digest(session_id), username, now + int(seconds * 1000)),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return session_id

    def session_user(self, session_id: str) -> str | None:
        """The user of a live session, or ``None`` (unknown, ended or expired)."""
        if not session_id or len(session_id) > 128:
            return None
        row = (
            self._conn()
            .execute(
                "SELECT username FROM ui_sessions WHERE id_sha256 = ? AND expires_ms > ?",
                (_token_digest(session_id), time.time_ns() // 1_000_000),
            )
            .fetchone()
        )
        return None if row is None else str(row[0])

    def end_session(self, session_id: str) -> None:
        """Sign a session out (nothing happens for an unknown one)."""
        if session_id and len(session_id) <= 128:
            self._conn().execute(
                "DELETE FROM ui_sessions WHERE id_sha256 = ?", (_token_digest(session_id),)
            )

    def grant(self, username: str, experiment_id: str, permission: str) -> None:
        """Give ``username`` at least ``permission`` on one experiment and its runs."""
        level = _level(permission)
        if not experiment_id.isdigit() or len(experiment_id) > 18:
            raise InvalidInput("experiment id must be the experiment's number, e.g. 3")
        self._known(username)
        self._conn().execute(
            "INSERT OR REPLACE INTO grants VALUES (?, ?, ?)", (username, experiment_id, level.name)
        )

    def grant_model(self, username: str, model_name: str, permission: str) -> None:
        """Give ``username`` at least ``permission`` on one registered model and its versions."""
        level = _level(permission)
        if not model_name or len(model_name) > 255 or "\x00" in model_name:
            raise InvalidInput("model name must be 1-255 characters without NUL")
        self._known(username)
        self._conn().execute(
            "INSERT OR REPLACE INTO model_grants VALUES (?, ?, ?)",
            (username, model_name, level.name),
        )

    def permission_on(
        self, username: str, role: Permission, key: str, kind: str = "experiment"
    ) -> Permission:
        """What ``username`` (whose role is ``role``) may do on one experiment (``kind``
        ``experiment``, ``key`` its id) or registered model (``model``, its name)."""
        if kind == "experiment":
            sql = "SELECT permission FROM grants WHERE username = ? AND experiment_id = ?"
        elif kind == "model":
            sql = "SELECT permission FROM model_grants WHERE username = ? AND model_name = ?"
        else:
            return role
        row = self._conn().execute(sql, (username, key)).fetchone()
        return max(role, Permission[row[0]]) if row else role

    def _known(self, username: str) -> None:
        if (
            self._conn().execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone()
            is None
        ):
            raise NotFound(f"no user '{username}'; create it with 'modelpack server users create'")

    def _role(self, username: str) -> Permission:
        row = (
            self._conn()
            .execute("SELECT role FROM users WHERE username = ?", (username,))
            .fetchone()
        )
        if row is None:
            raise Unauthenticated("the user of these credentials no longer exists")
        return Permission[row[0]]

    def role_of(self, username: str) -> Permission:
        """The role of a signed-in user (the web UI's sessions), or :class:`Unauthenticated`."""
        return self._role(username)

    def role_for_token(self, token: str) -> tuple[str, Permission]:
        """The user and role of a bearer token, or :class:`Unauthenticated`."""
        row = (
            self._conn()
            .execute("SELECT username FROM tokens WHERE token_sha256 = ?", (_token_digest(token),))
            .fetchone()
        )
        if row is None:
            raise Unauthenticated("the bearer token is not valid; create one with "
                                  "'modelpack server users token'")  # fmt: skip
        return row[0], self._role(row[0])

    def role_for_password(self, username: str, password: str) -> tuple[str, Permission]:
        """The role of a username and password, or :class:`Unauthenticated`."""
        key = (username, hashlib.sha256(password.encode()).hexdigest())
        if key not in self._verified:
            row = (
                self._conn()
                .execute("SELECT password_hash FROM users WHERE username = ?", (username,))
                .fetchone()
            )
            if row is None or not verify_password(password, row[0]):
                raise Unauthenticated("wrong username or password")
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[key] = username
        return username, self._role(username)

    def authenticate(self, authorization: str) -> tuple[str, Permission]:
        """The user and role behind an ``Authorization`` header value."""
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return self.role_for_token(value)
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthenticated("the Basic credentials are not valid base64") from None
            username, sep, password = decoded.partition(":")
            if sep:
                return self.role_for_password(username, password)
        raise Unauthenticated(
            "send 'Authorization: Bearer <token>' or Basic credentials "
            "(MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and _PASSWORD)"
        )
