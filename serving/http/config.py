"""``ServeConfig``: every option of the scoring server, spelled once.

Each field's metadata carries its help text; the CLI turns fields into ``--flag-name``
options read also from ``MODELPACK_SERVE_FLAG_NAME``, so a new option is one new field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from modelpack.errors import InvalidInput

ENV_PREFIX = "MODELPACK_SERVE_"


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ServeConfig:
    """How to serve one model.

    >>> config = ServeConfig(model_uri="models:/iris@champion", port=8080)
    >>> config.port
    8080
    """

    model_uri: str = field(metadata={"help": "Model to serve: a path, runs:/, models:/ URI."})
    host: str = _opt("127.0.0.1", "Interface to bind.")
    port: int = _opt(5000, "Port to bind (0 picks a free one).")
    workers: int = _opt(1, "Worker processes sharing the socket.")
    timeout: float = _opt(60.0, "Seconds a request may take before it gets a 504.")
    max_body_bytes: int = _opt(64 * 1024 * 1024, "Largest request body accepted (413 above).")
    max_decoded_bytes: int = _opt(
        256 * 1024 * 1024,
        "Largest table a request body may decode to, at 8 bytes a value (413 above): "
        "a compressed parquet body is judged by its decoded size.",
    )
    max_batch_rows: int = _opt(
        0,
        "Rows merged into one prediction; 0 = automatic (on for flavors whose rows are independent: sklearn, onnx), 1 = off.",
    )
    max_wait_ms: float = _opt(2.0, "Longest a request waits for others to join its batch.")
    max_queue: int = _opt(1024, "Requests waiting for the model before new ones get a 503.")
    watch: bool = _opt(False, "Follow a stage or alias URI: swap in the new version when it moves.")
    watch_interval: float = _opt(1.0, "Seconds between checks of the URI with --watch.")
    env_manager: str = _opt("local", "Environment to serve in: local or virtualenv.")
    trust: bool = _opt(False, "Allow model payloads whose loading runs code (pickle).")
    warmup: bool = _opt(
        True,
        "Predict once on the model's input example before reporting ready, so the first "
        "request does not pay for a cold model (lazy sessions, first-call allocations).",
    )
    access_log: bool = _opt(False, "Log one line per request (method, path, status).")
    model_name: str = _opt(
        "",
        "Name to serve the model as (metadata, V2 routes, metrics); default: the registry's name, else the directory's.",
    )
    model_version: str = _opt(
        "", "Version to serve the model as; default: the registry's version, else 1."
    )

    def __post_init__(self) -> None:
        checks = [
            (bool(self.model_uri), "model_uri must not be empty"),
            (0 <= self.port <= 65535, f"port must be 0-65535, got {self.port}"),
            (self.workers >= 1, f"workers must be at least 1, got {self.workers}"),
            (self.timeout > 0, f"timeout must be positive, got {self.timeout}"),
            (self.max_body_bytes > 0, "max_body_bytes must be positive"),
            (self.max_decoded_bytes > 0, "max_decoded_bytes must be positive"),
            (self.max_batch_rows >= 0, "max_batch_rows must be 0 (auto) or more"),
            (self.max_wait_ms >= 0, "max_wait_ms must not be negative"),
            (self.max_queue >= 1, "max_queue must be at least 1"),
            (self.watch_interval > 0, "watch_interval must be positive"),
            (
                self.env_manager in ("local", "virtualenv"),
                "env_manager must be local or virtualenv",
            ),
            (
                not (self.watch and self.model_version),
                "model_version fixes the served version, but watch follows the registry's: "
                "drop one of them",
            ),
            (
                all(
                    v.isprintable() and len(v) <= 255 for v in (self.model_name, self.model_version)
                ),
                "model_name and model_version must be printable and at most 255 characters",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidInput(message)


def option_fields() -> list[tuple[str, type, Any, str]]:
    """``(name, type, default, help)`` for every option, in declaration order."""
    types = {"str": str, "int": int, "float": float, "bool": bool}
    out = []
    for f in fields(ServeConfig):
        default = None if f.name == "model_uri" else f.default
        out.append((f.name, types[str(f.type)], default, f.metadata["help"]))
    return out


def env_var(name: str) -> str:
    """The environment variable that sets option ``name``: ``MODELPACK_SERVE_<NAME>``."""
    return ENV_PREFIX + name.upper()


def to_argv(config: ServeConfig) -> list[str]:
    """The ``modelpack serve`` arguments that rebuild ``config`` in another process."""
    argv: list[str] = []
    for f in fields(ServeConfig):
        value = getattr(config, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else "--no-" + flag[2:])
        else:
            argv += [flag, str(value)]
    return argv


def read_env(name: str, environ: os._Environ[str] | dict[str, str] | None = None) -> str | None:
    """The raw value of option ``name`` from the environment, if set."""
    return (environ if environ is not None else os.environ).get(env_var(name))


__all__ = ["ENV_PREFIX", "ServeConfig", "env_var", "option_fields", "read_env", "to_argv"]
