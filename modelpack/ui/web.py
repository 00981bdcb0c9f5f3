"""What every page shares: the Jinja2 environment, rendering, forms, CSRF, error pages.

CSRF: a double-submit token. Every page sets a random ``mp_csrf`` cookie (SameSite=Strict,
HttpOnly) once; forms carry the same value in a hidden field, and a POST whose field
does not equal the cookie is refused with 403 before anything is read or changed. A
cross-site page can make the browser send the cookie but cannot read it to fill the field.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from modelpack.errors import (
    AlreadyExists,
    InvalidInput,
    ModelpackError,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from modelpack.ui.assets import TEMPLATES_DIR

if TYPE_CHECKING:
    from jinja2 import Environment

CSRF_COOKIE = "mp_csrf"
CSRF_FIELD = "csrf_token"
#: the largest form body a POST may send (descriptions are the longest field)
MAX_FORM_BYTES = 64 * 1024

Handler = Callable[[Request], Awaitable[Response]]


class PageError(Exception):
    """A request the UI answers with an error page: a status and a message with no values."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _fmt_time(ms: int | None) -> str:
    if not ms:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    return "" if value is None else str(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates, autoescaped (every value a user logged is text, never markup)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = _fmt_time
    env.filters["value"] = _fmt_value
    return env


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (made once per browser; see :func:`with_csrf_cookie`)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) != 43 or not token.replace("-", "").replace("_", "").isalnum():
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` filled with ``context``, the root path, the user and the CSRF token."""
    root = request.scope.get("root_path", "").rstrip("/")
    page = (
        environment()
        .get_template(template)
        .render(
            root=root,
            csrf=csrf_token(request),
            user=getattr(request.state, "user", None),
            partial=request.headers.get("hx-request") == "true",
            **context,
        )
    )
    response = HTMLResponse(page, status_code=status)
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", path=root or "/", secure=False
        )
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An error page: what went wrong, never what was sent."""
    return render(request, "error.html", status=status, status_code=status, message=message)


_STATUS = {InvalidInput: 400, Unauthenticated: 401, PermissionDenied: 403, NotFound: 404,
           AlreadyExists: 409}  # fmt: skip


def page(handler: Handler) -> Handler:
    """``handler`` with :class:`PageError` and modelpack errors turned into error pages."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except PageError as exc:
            return error_page(request, exc.status, exc.message)
        except NotFound:
            return error_page(request, 404, "There is nothing here: check the link.")
        except ModelpackError as exc:
            status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 0)
            if status == 0:
                raise
            return error_page(request, status, exc.message)

    return wrapped


async def read_form(request: Request) -> dict[str, str]:
    """A URL-encoded POST body with a valid CSRF token, as single values.

    Refused (403) without the token, before any field is looked at; 413 past
    :data:`MAX_FORM_BYTES`; 415 for any other content type.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise PageError(415, "Send this form from the page (application/x-www-form-urlencoded).")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PageError(413, f"The form is larger than {MAX_FORM_BYTES // 1024} KB.")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise PageError(400, "The form could not be read as UTF-8 form fields.") from None
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = (fields.get(CSRF_FIELD) or [""])[0]
    if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise PageError(
            403, "The form's security token is missing or stale: reload the page and submit again."
        )
    return {key: values[0] for key, values in fields.items()}


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Run a store call off the event loop (SQLite and file reads block)."""
    return await run_in_threadpool(function, *args)


__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "MAX_FORM_BYTES",
    "PageError",
    "csrf_token",
    "environment",
    "error_page",
    "in_thread",
    "page",
    "read_form",
    "render",
]


def require(request: Request, level: str, experiment_id: str | None = None) -> None:
    """Refuse (403 page) unless the signed-in user may ``level`` (READ, EDIT) here.

    Without auth every request may everything; with auth the app puts a checker on
    ``request.state.guard`` (the REST API's own roles and per-experiment grants).
    """
    guard: Callable[[str, str | None], bool] | None = getattr(request.state, "guard", None)
    if guard is not None and not guard(level, experiment_id):
        raise PageError(
            403,
            f"This needs {level} permission and your account does not have it here; "
            "ask an admin for a grant ('modelpack server users grant').",
        )
