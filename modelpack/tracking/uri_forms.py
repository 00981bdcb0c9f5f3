"""The shapes of ``runs:/`` and ``models:/`` URIs: parsing only, no store.

``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>/<stage>``
(case-insensitive), ``models:/<name>/latest`` and ``models:/<name>@<alias>``.
Resolving a parsed URI to files is the store's job (:mod:`modelpack.tracking.resolve`).
"""

from __future__ import annotations

from modelpack.errors import InvalidInput, InvalidURI
from modelpack.tracking.names import (
    check_artifact_path,
    check_name,
    check_run_id,
    check_stage,
    check_version,
)

_FORMS = (
    "models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest "
    "or models:/<name>@<alias>"
)


def parse_models_uri(uri: str) -> tuple[str, str, str]:
    """Split a ``models:/`` URI into (name, kind, value); kind is version/stage/latest/alias.

    >>> parse_models_uri("models:/iris@champion")
    ('iris', 'alias', 'champion')
    """
    body = uri[len("models:") :]
    if not body.startswith("/") or body.startswith("//"):
        raise InvalidURI(f"model URI must look like {_FORMS}")
    body = body[1:]
    if "/" not in body and "@" in body:
        name, _, alias = body.rpartition("@")
        kind, value = "alias", alias
        if not alias:
            raise InvalidURI(f"model URI has an empty alias after '@'; expected {_FORMS}")
    else:
        parts = body.split("/")
        if len(parts) != 2 or not parts[1]:
            raise InvalidURI(f"model URI must look like {_FORMS}")
        name, ref = parts
        if ref.isascii() and ref.isdigit():
            try:
                kind, value = "version", str(check_version(ref))
            except InvalidInput as exc:
                raise InvalidURI(f"model URI has an invalid version: {exc.message}") from None
        elif ref.lower() == "latest":
            kind, value = "latest", ref
        else:
            try:
                kind, value = "stage", check_stage(ref)
            except InvalidInput:
                raise InvalidURI(
                    f"model URI part after the name must be a version number, a stage "
                    "(None, Staging, Production, Archived) or 'latest'; "
                    f"expected {_FORMS}"
                ) from None
    try:
        check_name(name)
    except InvalidInput as exc:
        raise InvalidURI(f"model URI has an invalid model name: {exc.message}") from None
    return name, kind, value


def parse_runs_uri(uri: str) -> tuple[str, str | None]:
    """Split ``runs:/<run_id>/<path>`` into (run_id, path or None).

    >>> parse_runs_uri("runs:/0123456789abcdef0123456789abcdef/model")
    ('0123456789abcdef0123456789abcdef', 'model')
    """
    body = uri[len("runs:") :]
    if not body.startswith("/") or body.startswith("//"):
        raise InvalidURI("run URI must look like runs:/<run_id>/<artifact path>")
    run_id, _, path = body[1:].partition("/")
    try:
        check_run_id(run_id)
    except InvalidInput:
        raise InvalidURI(
            "run URI must start with a 32-character hexadecimal run id: runs:/<run_id>/<path>"
        ) from None
    return run_id, (check_artifact_path(path) if path.strip("/") else None)


__all__ = ["parse_models_uri", "parse_runs_uri"]
