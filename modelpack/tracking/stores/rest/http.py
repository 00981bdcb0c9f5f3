"""The HTTP side of the REST store: one keep-alive ``httpx`` session per server and process,
credentials from the environment, retries that never repeat a write blindly, and MLflow's
``{"error_code", "message"}`` answers turned back into modelpack's typed errors.

Credentials: ``MODELPACK_TRACKING_TOKEN`` (Bearer), else ``MODELPACK_TRACKING_USERNAME`` and
``MODELPACK_TRACKING_PASSWORD`` (Basic), else the ``MLFLOW_TRACKING_*`` variables of the same
names, else a ``user:password@`` in the URI. They are sent in a header and appear in no
message, log line or repr.
"""

from __future__ import annotations

import atexit
import math
import os
import random
import time
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import httpx

from modelpack.errors import (
    AlreadyExists,
    InvalidInput,
    ModelpackError,
    NotFound,
    PermissionDenied,
    StoreError,
    Unauthenticated,
)
from modelpack.tracking.stores.rest.server_url import ServerURL

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
#: attempts at a request the server did not get (connection refused) or asked to repeat
ATTEMPTS = 4
_CHUNK = 1 << 20
_MESSAGE_LIMIT = 400
_CREDENTIALS_HINT = (
    "set MODELPACK_TRACKING_TOKEN, or MODELPACK_TRACKING_USERNAME and "
    "MODELPACK_TRACKING_PASSWORD (the MLFLOW_TRACKING_* variables work too)"
)


def _env(name: str) -> str | None:
    return os.environ.get(f"MODELPACK_{name}") or os.environ.get(f"MLFLOW_{name}") or None


def credentials(url: ServerURL) -> httpx.Auth | None:
    """The auth the environment (or the URI) asks for; ``None`` for an open server."""
    token = _env("TRACKING_TOKEN")
    if token:
        return _Bearer(token)
    username, password = _env("TRACKING_USERNAME"), _env("TRACKING_PASSWORD")
    if username is None:
        username, password = url.username, url.password
    if username is not None:
        return httpx.BasicAuth(username, password or "")
    return None


class _Bearer(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "<Bearer ***>"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def _wait(attempt: int, response: httpx.Response | None = None) -> None:
    retry_after = response.headers.get("Retry-After", "") if response is not None else ""
    delay = float(retry_after) if retry_after.isdigit() else 0.25 * 2**attempt
    time.sleep(min(delay, 5.0) * (0.5 + random.random() / 2))


def _server_message(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return "", ""
    code, message = body.get("error_code"), body.get("message")
    text = message if isinstance(message, str) else ""
    if len(text) > _MESSAGE_LIMIT:
        text = text[:_MESSAGE_LIMIT] + "…"
    return (code if isinstance(code, str) else ""), text


def error_for(
    response: httpx.Response, where: str, missing: type[NotFound] = NotFound
) -> ModelpackError:
    """The typed error for a failed answer; ``missing`` is the class for a 404."""
    code, message = _server_message(response)
    status = response.status_code
    said = f": {message}" if message else ""
    if status == 401 or code == "UNAUTHENTICATED":
        return Unauthenticated(
            f"the tracking server {where} wants credentials (HTTP 401){said}; {_CREDENTIALS_HINT}"
        )
    if status == 403 or code == "PERMISSION_DENIED":
        return PermissionDenied(
            f"the tracking server {where} refused this to the user you sent (HTTP 403){said}; "
            "ask its administrator for a grant, or use another user's credentials"
        )
    if status in (429, 503):
        return StoreError(
            f"the tracking server {where} is busy (HTTP {status}){said}; try again later"
        )
    if code == "RESOURCE_DOES_NOT_EXIST":
        return missing(message or f"not found on the tracking server {where}")
    if code == "RESOURCE_ALREADY_EXISTS":
        return AlreadyExists(message or f"already exists on the tracking server {where}")
    if 400 <= status < 500 and code:
        return InvalidInput(f"the tracking server {where} refused the request{said}")
    if status == 404:
        return StoreError(
            f"the tracking server {where} has no such route (HTTP 404); is it an MLflow-compatible "
            "tracking server (modelpack server or mlflow server) of a recent version?"
        )
    return StoreError(f"the tracking server {where} failed (HTTP {status}){said}")


def json_number(value: Any) -> Any:
    """A float as protobuf JSON writes it: NaN and infinities as strings, which JSON lacks."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


class HttpSession:
    """Requests to one tracking server. Thread-safe; one per server and process."""

    def __init__(self, url: ServerURL, timeout: float = 60.0) -> None:
        self.url = url
        self.where = url.where
        self._client = httpx.Client(
            base_url=url.base,
            auth=credentials(url),
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"User-Agent": "modelpack"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"<HttpSession {self.where}>"

    def close(self) -> None:
        self._client.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        build: Mapping[str, Any] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one request, retrying what is safe to retry; returns a 2xx response.

        A refused connection is retried for every request (the server never saw it);
        a dropped one, 429 and 503 only for ``idempotent`` requests.
        """
        options = dict(build or {})
        for attempt in range(ATTEMPTS):
            try:
                request = self._client.build_request(method, path, **options)
                response = self._client.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt + 1 < ATTEMPTS:
                    _wait(attempt)
                    continue
                raise StoreError(
                    f"cannot reach the tracking server at {self.where} "
                    f"({type(exc).__name__} after {ATTEMPTS} attempts); check that it is "
                    "running and that MODELPACK_TRACKING_URI names its host and port"
                ) from None
            except httpx.TransportError as exc:
                if idempotent and attempt + 1 < ATTEMPTS:
                    _wait(attempt)
                    continue
                raise StoreError(
                    f"the connection to the tracking server {self.where} failed mid-request "
                    f"({type(exc).__name__}); "
                    + (
                        "try again"
                        if idempotent
                        else "check whether the change was made, then retry"
                    )
                ) from None
            if response.status_code in (429, 503) and idempotent and attempt + 1 < ATTEMPTS:
                response.close()
                _wait(attempt, response)
                continue
            return response
        raise AssertionError("unreachable: the last attempt returns its response")

    def call(
        self,
        method: str,
        endpoint: str,
        body: Mapping[str, Any] | None = None,
        *,
        missing: type[NotFound] = NotFound,
    ) -> dict[str, Any]:
        """One call of MLflow's REST API: ``GET`` sends ``body`` as the query, others as JSON.

        >>> session.call("GET", "/experiments/get", {"experiment_id": "0"})  # doctest: +SKIP
        """
        idempotent = method == "GET" or endpoint.endswith(("/search", "/get-latest-versions"))
        payload = {k: json_number(v) for k, v in (body or {}).items() if v is not None}
        options: dict[str, Any] = {"params": payload} if method == "GET" else {"json": payload}
        response = self.send(method, API + endpoint, idempotent=idempotent, build=options)
        if response.status_code >= 400:
            raise error_for(response, self.where, missing)
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise StoreError(
                f"the tracking server {self.where} did not answer {endpoint} with a JSON object; "
                "is MODELPACK_TRACKING_URI an MLflow-compatible tracking server?"
            )
        return answer

    # -- proxied artifacts ---------------------------------------------------------

    def upload(self, remote: str, local: Path) -> None:
        """PUT the file ``local`` to ``remote``, streamed in 1 MiB chunks (never whole)."""
        size = local.stat().st_size

        def chunks(handle: IO[bytes]) -> Iterator[bytes]:
            while chunk := handle.read(_CHUNK):
                yield chunk

        with local.open("rb") as handle:
            options = {
                "content": chunks(handle),
                "headers": {
                    "Content-Length": str(size),
                    "Content-Type": "application/octet-stream",
                },
            }
            # a refused connection is retried by send(); then nothing was read yet
            response = self.send(
                "PUT", f"{ARTIFACTS_API}/{remote}", idempotent=False, build=options
            )
        if response.status_code >= 400:
            raise error_for(response, self.where)

    def upload_bytes(self, remote: str, data: bytes) -> None:
        """PUT ``data`` to ``remote`` (small payloads: dicts, text, figures)."""
        options = {"content": data, "headers": {"Content-Type": "application/octet-stream"}}
        response = self.send("PUT", f"{ARTIFACTS_API}/{remote}", idempotent=True, build=options)
        if response.status_code >= 400:
            raise error_for(response, self.where)

    def listing(self, remote: str) -> list[dict[str, Any]]:
        """The entries (``path``, ``is_dir``, ``file_size``) directly under ``remote``."""
        response = self.send(
            "GET", ARTIFACTS_API, idempotent=True, build={"params": {"path": remote}}
        )
        if response.status_code >= 400:
            raise error_for(response, self.where)
        try:
            files = response.json().get("files", [])
        except (ValueError, AttributeError):
            files = None
        if not isinstance(files, list):
            raise StoreError(f"the tracking server {self.where} sent an unreadable artifact list")
        return [f for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)]

    def download(self, remote: str, local: Path, missing: type[NotFound] = NotFound) -> None:
        """GET ``remote`` into the new file ``local``, streamed (never whole in memory)."""
        response = self.send("GET", f"{ARTIFACTS_API}/{remote}", idempotent=True, stream=True)
        try:
            if response.status_code >= 400:
                response.read()
                raise error_for(response, self.where, missing)
            with local.open("xb") as handle:
                for chunk in response.iter_bytes(_CHUNK):
                    handle.write(chunk)
        except httpx.TransportError as exc:
            raise StoreError(
                f"the download from the tracking server {self.where} broke off "
                f"({type(exc).__name__}); try again"
            ) from None
        finally:
            response.close()


_sessions: dict[tuple[int, str, str], HttpSession] = {}


def session_for(url: ServerURL) -> HttpSession:
    """The shared session for ``url`` in this process (keep-alive across ``Client()`` calls);
    a new one after ``fork`` or when the credentials in the environment change."""
    auth = credentials(url)
    key = (os.getpid(), url.base, repr(_auth_key(auth)))
    found = _sessions.get(key)
    if found is None:
        found = _sessions[key] = HttpSession(url)
    return found


@atexit.register
def _close_sessions() -> None:
    """Close the kept-alive connections at exit (no unclosed-socket warnings)."""
    for key, session in list(_sessions.items()):
        if key[0] == os.getpid():
            session.close()
    _sessions.clear()


def _auth_key(auth: httpx.Auth | None) -> object:
    # compared, never shown: the key stays inside this module
    if isinstance(auth, _Bearer):
        return ("bearer", hash(auth._token))
    if isinstance(auth, httpx.BasicAuth):
        return ("basic", hash(auth._auth_header))
    return None


__all__ = [
    "API",
    "ARTIFACTS_API",
    "HttpSession",
    "credentials",
    "error_for",
    "json_number",
    "session_for",
]
