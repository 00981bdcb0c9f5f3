"""What ``search_experiments`` accepts: MLflow's view types, ``order_by`` over an exact
set of experiment columns, and a filter over ``name``, ``experiment_id``,
``creation_time``, ``last_update_time`` and ``tags.<key>`` (the runs' grammar: ``=``,
``!=``, ``LIKE``, ``ILIKE``, ``IN`` on strings; ``<`` ... ``>=`` on the times; ``AND``,
``OR``, parentheses), checked once at the edge so every store gets clean values.

>>> parse_experiment_order(["name DESC", "creation_time"])
[('name', False), ('creation_time', True)]
>>> view_type_name(3)
'ALL'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from modelpack.errors import InvalidInput
from modelpack.tracking.entities import Experiment
from modelpack.tracking.search import tree_predicate
from modelpack.tracking.search_grammar import parse_expression
from modelpack.tracking.search_keys import EXPERIMENT_KEYS, SearchKey

#: the columns an experiment search may be ordered by (exact names, MLflow's)
ORDER_COLUMNS = ("name", "experiment_id", "creation_time", "last_update_time")
#: MLflow's ``ViewType`` numbers (``mlflow.entities.ViewType``) and their names
VIEW_TYPE_NUMBERS = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
#: a search answers at most this many experiments per call (MLflow's limit)
MAX_EXPERIMENTS = 50_000


def view_type_name(view_type: int | str) -> str:
    """``ACTIVE_ONLY``, ``DELETED_ONLY`` or ``ALL`` from MLflow's number or name."""
    if isinstance(view_type, int) and not isinstance(view_type, bool):
        if view_type in VIEW_TYPE_NUMBERS:
            return VIEW_TYPE_NUMBERS[view_type]
    elif isinstance(view_type, str) and view_type.upper() in VIEW_TYPE_NUMBERS.values():
        return view_type.upper()
    raise InvalidInput(
        "view_type must be ACTIVE_ONLY (1), DELETED_ONLY (2) or ALL (3); "
        "pass one of these names or numbers"
    )


def parse_experiment_order(order_by: Sequence[str] | None) -> list[tuple[str, bool]]:
    """``(column, ascending)`` for each ``"column [ASC|DESC]"`` entry of ``order_by``, then
    MLflow's tie-breaker (the newer id first) unless ``experiment_id`` is among them;
    with no entries, MLflow's default: the newest first, ties by id."""
    if isinstance(order_by, str):
        raise InvalidInput("order_by must be a list of strings such as ['name ASC']")
    if not order_by:
        return [("creation_time", False), ("experiment_id", True)]
    parsed: list[tuple[str, bool]] = []
    for entry in order_by:
        words = entry.split() if isinstance(entry, str) else []
        column = words[0].removeprefix("attributes.") if words else ""
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if (
            len(words) not in (1, 2)
            or column not in ORDER_COLUMNS
            or direction not in ("ASC", "DESC")
        ):
            raise InvalidInput(
                "each order_by entry must be a column, optionally followed by ASC or DESC; "
                f"the columns are {', '.join(ORDER_COLUMNS)} (for example 'name DESC')"
            )
        parsed.append((column, direction == "ASC"))
    if all(column != "experiment_id" for column, _ in parsed):
        parsed.append(("experiment_id", False))
    return parsed


def check_max_results(max_results: int | None) -> int | None:
    """``max_results`` as a whole number from 1 to 50,000 (``None``: every experiment)."""
    if max_results is None:
        return None
    if isinstance(max_results, bool) or not isinstance(max_results, int):
        raise InvalidInput("max_results must be a whole number; pass e.g. 100")
    if not 1 <= max_results <= MAX_EXPERIMENTS:
        raise InvalidInput(
            f"max_results must be from 1 to {MAX_EXPERIMENTS}, got {max_results}; "
            "page through more with page_token"
        )
    return max_results


def offset_of_token(page_token: str | None) -> int:
    """The offset a ``page_token`` from an earlier search stands for (0 for none)."""
    if not page_token:
        return 0
    if not isinstance(page_token, str) or not page_token.isdigit() or len(page_token) > 12:
        raise InvalidInput(
            "page_token must be the token an earlier search_experiments returned; omit it "
            "to start from the first page"
        )
    return int(page_token)


def _experiment_value(key: SearchKey, experiment: Experiment) -> str | int | None:
    if key.entity == "tags":
        return experiment.tags.get(key.key)
    value: str | int = getattr(experiment, key.key)
    return value


def experiment_filter(filter_string: str | None) -> Callable[[Experiment], bool] | None:
    """Whether an experiment matches ``filter_string``; ``None`` for an empty filter.

    >>> keep = experiment_filter("name LIKE 'fraud-%' and tags.team = 'risk'")
    """
    tree = parse_expression(filter_string, EXPERIMENT_KEYS)
    return None if tree is None else tree_predicate(tree, _experiment_value)


__all__ = [
    "experiment_filter",
    "MAX_EXPERIMENTS",
    "ORDER_COLUMNS",
    "VIEW_TYPE_NUMBERS",
    "check_max_results",
    "offset_of_token",
    "parse_experiment_order",
    "view_type_name",
]
