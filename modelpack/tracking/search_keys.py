"""What a search filter may name: the keys of runs (metrics, params, tags, attributes)
and of experiments (tags, attributes), each parsed into a :class:`SearchKey`.

:mod:`modelpack.tracking.search_grammar` parses a filter over one :class:`KeyGrammar`:
:data:`RUN_KEYS` for ``search_runs``, :data:`EXPERIMENT_KEYS` for ``search_experiments``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from modelpack.errors import InvalidInput
from modelpack.tracking.entities import Run

_ENTITIES = {
    "metric": "metrics", "metrics": "metrics", "param": "params", "params": "params",
    "parameter": "params", "parameters": "params", "tag": "tags", "tags": "tags",
    "attribute": "attributes", "attributes": "attributes", "attr": "attributes", "run": "attributes",
}  # fmt: skip
_ATTRIBUTES = {"run_id", "run_name", "status", "start_time", "end_time", "experiment_id"}
#: compared with numbers: a run's times, and an experiment's (see :data:`EXPERIMENT_KEYS`)
_NUMERIC_ATTRIBUTES = {"start_time", "end_time", "creation_time", "last_update_time"}
_SHOWN = 20  # characters of an order_by key an error may quote


@dataclass(frozen=True)
class SearchKey:
    """What a clause or an ``order_by`` entry names: ``entity`` is metrics, params, tags or
    attributes; ``key`` the metric, param or tag key, or the attribute's name."""

    entity: str
    key: str

    @property
    def numeric(self) -> bool:
        """Compared with numbers (metrics, start_time, end_time), not quoted strings."""
        return self.entity == "metrics" or self.key in _NUMERIC_ATTRIBUTES

    def get(self, run: Run) -> str | float | int | None:
        """The run's value for this key (None: the run lacks it)."""
        if self.entity == "metrics":
            return run.data.metrics.get(self.key)
        if self.entity == "params":
            return run.data.params.get(self.key)
        if self.entity == "tags":
            return run.data.tags.get(self.key)
        value: str | float | int | None = getattr(run.info, self.key)
        return value


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "`'\"":
        return text[1:-1]
    return text


def _show(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def parse_key(text: str) -> SearchKey:
    """``metrics.rmse``, ``params.`a b```, ``status``… as a :class:`SearchKey`."""
    text = text.strip()
    prefix, dot, rest = text.partition(".")
    entity = _ENTITIES.get(prefix.lower()) if dot else None
    if entity is None:
        entity, rest = "attributes", text
    key = _unquote(rest.strip())
    if entity == "attributes":
        key = {"name": "run_name", "run_uuid": "run_id"}.get(key, key)
        if key not in _ATTRIBUTES:
            raise InvalidInput(
                f"search key {_show(text)} is not known: use metrics.<key>, params.<key>, "
                f"tags.<key> or one of attributes.{{{', '.join(sorted(_ATTRIBUTES))}}}"
            )
    return SearchKey(entity, key)


_EXPERIMENT_ATTRIBUTES = {"name", "experiment_id", "creation_time", "last_update_time"}


def parse_experiment_key(text: str) -> SearchKey:
    """``name``, ``tags.team``, ``attributes.creation_time``… of an experiment filter."""
    text = text.strip()
    prefix, dot, rest = text.partition(".")
    entity = {"tag": "tags", "tags": "tags", "attribute": "attributes",
              "attributes": "attributes"}.get(prefix.lower()) if dot else None  # fmt: skip
    if entity is None:
        entity, rest = "attributes", text
    key = _unquote(rest.strip())
    if entity == "attributes" and key not in _EXPERIMENT_ATTRIBUTES:
        raise InvalidInput(
            f"search key {_show(text)} is not known: use tags.<key> or one of "
            f"{', '.join(sorted(_EXPERIMENT_ATTRIBUTES))}"
        )
    return SearchKey(entity, key)


@dataclass(frozen=True)
class KeyGrammar:
    """What a filter may name: runs (:data:`RUN_KEYS`) or experiments
    (:data:`EXPERIMENT_KEYS`); ``hint`` is the grammar's own list of keys for errors."""

    parse: Callable[[str], SearchKey]
    hint: str
    example: str


RUN_KEYS = KeyGrammar(
    parse_key,
    "metrics.<key>, params.<key>, tags.<key> or one of attributes."
    f"{{{', '.join(sorted(_ATTRIBUTES))}}}",
    "metrics.rmse, params.alpha or tags.team",
)
EXPERIMENT_KEYS = KeyGrammar(
    parse_experiment_key,
    f"tags.<key> or one of {', '.join(sorted(_EXPERIMENT_ATTRIBUTES))}",
    "name or tags.team",
)


__all__ = [
    "EXPERIMENT_KEYS",
    "RUN_KEYS",
    "KeyGrammar",
    "SearchKey",
    "parse_experiment_key",
    "parse_key",
]
