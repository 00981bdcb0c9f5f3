"""MLflow's fluent functions for the model registry: search registered models and
versions, and the registry URI, which here is always the tracking URI (the registry
lives in the tracking store).

>>> import modelpack
>>> [m.name for m in modelpack.search_registered_models(order_by=["name DESC"])]  # doctest: +SKIP
['iris', 'churn']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from modelpack.errors import InvalidInput
from modelpack.tracking.client import Client
from modelpack.tracking.config import check_registry_uri, get_tracking_uri
from modelpack.tracking.entities import ModelVersion, RegisteredModel

T = TypeVar("T")

#: the fields each search may be ordered by (exact names, MLflow's)
_MODEL_ORDER: dict[str, Callable[[RegisteredModel], Any]] = {
    "name": lambda m: m.name,
    "creation_timestamp": lambda m: m.creation_timestamp,
    "last_updated_timestamp": lambda m: m.last_updated_timestamp,
}
_VERSION_ORDER: dict[str, Callable[[ModelVersion], Any]] = {
    "name": lambda v: v.name,
    "version_number": lambda v: v.version,
    "creation_timestamp": lambda v: v.creation_timestamp,
    "last_updated_timestamp": lambda v: v.last_updated_timestamp,
}


def _ordered(
    items: list[T], order_by: Sequence[str] | None, fields: dict[str, Callable[[T], Any]]
) -> list[T]:
    if isinstance(order_by, str):
        raise InvalidInput("order_by must be a list of strings such as ['name ASC']")
    result = list(items)
    # a stable sort per key, the last key first: the first key decides, later ones break ties
    for entry in reversed(list(order_by or [])):
        words = entry.split() if isinstance(entry, str) else []
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if len(words) not in (1, 2) or words[0] not in fields or direction not in ("ASC", "DESC"):
            raise InvalidInput(
                "each order_by entry must be a field, optionally followed by ASC or DESC; "
                f"the fields are {', '.join(fields)} (for example 'name DESC')"
            )
        result.sort(key=fields[words[0]], reverse=direction == "DESC")
    return result


def _limited(items: list[T], max_results: int | None) -> list[T]:
    if max_results is None:
        return items
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidInput("max_results must be a positive whole number, or None for all")
    return items[:max_results]


def search_registered_models(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[RegisteredModel]:
    """Registered models matching ``filter_string`` (``name = 'x'`` or ``name LIKE 'x%'``),
    ordered by ``order_by`` over name, creation_timestamp, last_updated_timestamp."""
    found = Client().search_registered_models(filter_string or "")
    return _limited(_ordered(found, order_by, _MODEL_ORDER), max_results)


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[ModelVersion]:
    """Model versions matching ``filter_string`` (``name = 'x'`` and/or ``run_id = '...'``),
    ordered by ``order_by`` over name, version_number, creation_timestamp,
    last_updated_timestamp."""
    found = Client().search_model_versions(filter_string or "")
    return _limited(_ordered(found, order_by, _VERSION_ORDER), max_results)


def get_registry_uri() -> str:
    """The model registry's URI: the tracking URI, since the registry lives in the
    tracking store."""
    return get_tracking_uri()


def set_registry_uri(uri: str | os.PathLike[str]) -> None:
    """Accepted for MLflow code when ``uri`` is the tracking URI, which already holds the
    registry; any other URI is refused (``InvalidInput``): point both at one store with
    :func:`modelpack.set_tracking_uri`."""
    check_registry_uri(uri, get_tracking_uri())


__all__ = [
    "get_registry_uri",
    "search_model_versions",
    "search_registered_models",
    "set_registry_uri",
]
