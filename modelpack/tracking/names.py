"""Validation of everything a user names: models, experiments, aliases, keys, paths.

Each ``check_*`` function returns the cleaned value or raises a typed error that
says what was expected, what came and how to fix it. Values are never echoed whole.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from urllib.parse import unquote

from modelpack.errors import InvalidInput, InvalidName, UnsafePathError

MAX_NAME_LENGTH = 255
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
#: the largest version number the store can hold (an SQLite INTEGER is 64-bit signed)
MAX_VERSION = 2**63 - 1
#: longest artifact path, and longest part of one, that a file system can open
MAX_PATH_LENGTH = 1024
MAX_PATH_PART_BYTES = 255

STAGES: tuple[str, ...] = ("None", "Staging", "Production", "Archived")
_STAGE_BY_LOWER = {stage.lower(): stage for stage in STAGES}

_KEY_RE = re.compile(r"^[\w\-. /]+$")
_ALIAS_RE = re.compile(r"^[\w\-]+$")
_RESERVED_ALIAS_RE = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
_RUN_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def _describe(value: object) -> str:
    """A short description of a rejected value: a short printable string is quoted (a
    user's own name or stage is what they need to see); anything else by type and size."""
    if isinstance(value, str):
        if 0 < len(value) <= 40 and value.isprintable():
            return repr(value)
        return f"a string of {len(value)} characters"
    return f"a value of type {type(value).__name__}"


#: C0 controls, DEL and the C1 controls: invisible in a terminal, ambiguous in a URI
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")


def _has_control(value: str) -> bool:
    return _CONTROL_RE.search(value) is not None


def check_name(value: object, what: str = "model name") -> str:
    """Return ``value`` if it is usable as a registered model (or experiment) name.

    >>> check_name("iris-classifier")
    'iris-classifier'
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidName(f"{what} must be a non-empty string, got {_describe(value)}")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"{what} must be at most {MAX_NAME_LENGTH} characters, got {len(value)}; "
            "choose a shorter name"
        )
    for bad, label in (("\x00", "a NUL character"), ("/", "'/'"), (":", "':'"), ("..", "'..'")):
        if bad in value:
            raise InvalidName(
                f"{what} must not contain {label} (it would break model URIs); "
                "use letters, digits, '-', '_' or '.'"
            )
    if _has_control(value):
        raise InvalidName(f"{what} must not contain control characters")
    return value


def check_experiment_name(value: object) -> str:
    """Return ``value`` if it is usable as an experiment name (``/`` is allowed).

    >>> check_experiment_name("team/iris")
    'team/iris'
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidName(f"experiment name must be a non-empty string, got {_describe(value)}")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidName(
            f"experiment name must be at most {MAX_NAME_LENGTH} characters, got {len(value)}"
        )
    if _has_control(value):
        raise InvalidName("experiment name must not contain NUL or control characters")
    return value


def check_alias(value: object) -> str:
    """Return ``value`` if it is a settable alias (MLflow's rules).

    >>> check_alias("champion")
    'champion'
    """
    if not isinstance(value, str) or not value:
        raise InvalidName(f"alias must be a non-empty string, got {_describe(value)}")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidName(f"alias must be at most {MAX_NAME_LENGTH} characters, got {len(value)}")
    if not _ALIAS_RE.match(value):
        raise InvalidName("alias may contain only letters, digits, '_' and '-'")
    if _RESERVED_ALIAS_RE.match(value):
        raise InvalidName(
            "aliases 'latest' and 'v<number>' are reserved (they already mean a version); "
            "choose another alias, e.g. 'champion'"
        )
    return value


def check_key(value: object, what: str = "key") -> str:
    """Return ``value`` if it is usable as a param, metric or tag key.

    >>> check_key("train/loss")
    'train/loss'
    """
    if not isinstance(value, str) or not value:
        raise InvalidName(f"{what} must be a non-empty string, got {_describe(value)}")
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidName(f"{what} must be at most {MAX_KEY_LENGTH} characters, got {len(value)}")
    if not _KEY_RE.match(value):
        raise InvalidName(
            f"{what} may contain only letters, digits, '_', '-', '.', ' ' and '/'; "
            "rename it without other characters"
        )
    if value.startswith("/") or ".." in value.split("/"):
        raise InvalidName(f"{what} must be a relative name without '..' components")
    return value


def check_value(value: object, what: str, limit: int) -> str:
    """Return ``value`` as a string of at most ``limit`` characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidInput(
            f"{what} must be at most {limit} characters, got {len(text)}; "
            "log long text as an artifact instead"
        )
    if "\x00" in text:
        raise InvalidInput(f"{what} must not contain NUL characters")
    return text


def check_tags(tags: Mapping[str, object] | None) -> dict[str, str]:
    """Return ``tags`` with checked keys and values turned into strings."""
    return {
        check_key(k, "tag key"): check_value(v, f"tag '{k}'", MAX_TAG_VALUE_LENGTH)
        for k, v in (tags or {}).items()
    }


def check_metric_value(value: object, key: str) -> float:
    """Return ``value`` as a float (NaN and infinities are kept as they are)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise InvalidInput(
        f"metric '{key}': expected a number, got {_describe(value)}; log text as a tag or param"
    )


def check_step(value: object) -> int:
    """Return ``value`` as a metric step (an integer)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        raise InvalidInput(f"metric step must be an integer, got {_describe(value)}")
    return value


def check_artifact_path(value: object, what: str = "artifact path") -> str:
    """Return ``value`` as a clean relative POSIX path that cannot leave its directory.

    Rejects absolute paths, ``..`` components (also percent-encoded), backslashes,
    drive letters and NUL.

    >>> check_artifact_path("plots/loss.png")
    'plots/loss.png'
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidName(f"{what} must be a non-empty string, got {_describe(value)}")
    decoded = unquote(value)
    for text in (value, decoded):
        if "\x00" in text:
            raise UnsafePathError(f"{what} must not contain NUL characters")
        if "\\" in text:
            raise UnsafePathError(f"{what} must use '/' separators, got a backslash; use '/'")
        if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
            raise UnsafePathError(
                f"{what} must be relative to the run's artifact directory, got an absolute path"
            )
        if ".." in text.split("/"):
            raise UnsafePathError(
                f"{what} must not contain '..' (it would leave the run directory)"
            )
    parts = [part for part in value.split("/") if part not in ("", ".")]
    if not parts:
        raise InvalidName(f"{what} must name a file or directory, got only separators")
    if len(value) > MAX_PATH_LENGTH or any(
        len(part.encode("utf-8", "surrogatepass")) > MAX_PATH_PART_BYTES for part in parts
    ):
        raise InvalidName(
            f"{what} must be at most {MAX_PATH_LENGTH} characters with each part at most "
            f"{MAX_PATH_PART_BYTES} bytes (file-system limits), got {_describe(value)}"
        )
    return str(PurePosixPath(*parts))


def check_stage(value: object) -> str:
    """Return the canonical stage name for ``value`` (case-insensitive).

    >>> check_stage("production")
    'Production'
    """
    stage = _STAGE_BY_LOWER.get(value.lower()) if isinstance(value, str) else None
    if stage is None:
        raise InvalidInput(f"stage must be one of {', '.join(STAGES)}, got {_describe(value)}")
    return stage


def check_version(value: object) -> int:
    """Return ``value`` as a model version number (a positive integer, or its text).

    >>> check_version("3")
    3
    """
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        text = value.strip()
        if len(text) > len(str(MAX_VERSION)):
            raise InvalidInput(
                f"model version must be at most {MAX_VERSION}, got a number of {len(text)} digits"
            )
        value = int(text)
    if not isinstance(value, int) or value < 1:
        raise InvalidInput(f"model version must be a positive integer, got {_describe(value)}")
    if value > MAX_VERSION:
        raise InvalidInput(f"model version must be at most {MAX_VERSION}; no version is that high")
    return value


def check_run_id(value: object) -> str:
    """Return ``value`` if it looks like a run id (32 lowercase hex characters)."""
    if not isinstance(value, str) or not _RUN_ID_RE.match(value):
        raise InvalidInput(f"run id must be 32 hexadecimal characters, got {_describe(value)}")
    return value


def check_experiment_id(value: object) -> str:
    """An experiment id as a string of 1 to 18 digits (an int is accepted, as in MLflow)."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text.isdigit() or len(text) > 18 or not text.isascii():
        raise InvalidInput(
            f"experiment id must be a number such as '1', got {_describe(value)}; "
            "find ids with search_experiments"
        )
    return text


def is_reserved_version_alias(value: str) -> bool:
    """Whether ``value`` is ``latest`` or ``v<digits>`` (case-insensitive)."""
    return bool(_RESERVED_ALIAS_RE.match(value))


__all__ = [
    "STAGES",
    "check_alias",
    "check_artifact_path",
    "check_experiment_id",
    "check_experiment_name",
    "check_key",
    "check_metric_value",
    "check_name",
    "check_run_id",
    "check_stage",
    "check_step",
    "check_tags",
    "check_value",
    "check_version",
    "is_reserved_version_alias",
]
