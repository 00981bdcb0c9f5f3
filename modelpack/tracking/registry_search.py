"""The small filter language of ``search_registered_models`` / ``search_model_versions``."""

from __future__ import annotations

import re

from modelpack.errors import InvalidInput

_CLAUSE = re.compile(
    r"^\s*(?P<key>name|run_id)\s*(?P<op>=|\s(?:I?LIKE)\s)\s*(?P<q>['\"])(?P<value>.*)(?P=q)\s*$",
    re.IGNORECASE | re.DOTALL,
)


def _clauses(filter_string: str) -> list[tuple[str, str, str]]:
    found = []
    for clause in re.split(r"\s+and\s+", filter_string.strip(), flags=re.IGNORECASE):
        if not clause:
            continue
        match = _CLAUSE.match(clause)
        if not match:
            raise InvalidInput(
                "registry filter must be clauses like name = 'iris', name LIKE 'iris%' or "
                "run_id = '<id>', joined by AND"
            )
        found.append((match["key"].lower(), match["op"].strip().upper(), match["value"]))
    return found


def parse_name_filter(filter_string: str) -> tuple[str | None, str | None]:
    """(exact name, LIKE pattern) from a registered-model filter."""
    name = like = None
    for _key, op, value in _clauses(filter_string or ""):
        if op == "=":
            name = value
        else:
            like = value
    return name, like


def parse_version_filter(filter_string: str) -> tuple[str | None, str | None]:
    """(name, run_id) from a model-version filter (equality only)."""
    name = run_id = None
    for key, op, value in _clauses(filter_string or ""):
        if op != "=":
            raise InvalidInput("model version filters support '=' only, e.g. name = 'iris'")
        if key == "name":
            name = value
        else:
            run_id = value
    return name, run_id


__all__ = ["parse_name_filter", "parse_version_filter"]
