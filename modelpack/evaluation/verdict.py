"""The verdict on a model version, kept as version tags, and the promotion gate that reads it.

Tags (through the public :class:`~modelpack.Client`, so any store keeps them):

- ``modelpack.evaluation.passed``: ``true`` or ``false``;
- ``modelpack.evaluation.baseline``: JSON ``{"name", "version"}`` (``null`` fields if none);
- ``modelpack.evaluation.data``: JSON ``{"digest", "rows"}``;
- ``modelpack.evaluation.metrics``: JSON of the candidate's (and baseline's) metrics;
- ``modelpack.evaluation.checks``: JSON list of the threshold checks;
- ``modelpack.evaluation.run_id``: the run holding the artifacts.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from modelpack.errors import InvalidInput, NotFound, PromotionRefused

if TYPE_CHECKING:
    from modelpack.evaluation.api import EvaluationResult
    from modelpack.tracking import Client

PREFIX = "modelpack.evaluation."
MAX_TAG = 8000


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, allow_nan=True, default=str)


def record(client: Client, result: EvaluationResult) -> None:
    """Tag the candidate's registered version with the verdict (no-op if not registered)."""
    ref = result.candidate
    if ref.name is None or ref.version is None:
        return
    base = result.baseline
    metrics: dict[str, Any] = {"candidate": result.metrics}
    if result.baseline_metrics is not None:
        metrics["baseline"] = result.baseline_metrics
    tags = {
        "passed": "true" if result.passed else "false",
        "baseline": _json(
            {"name": base.name if base else None, "version": base.version if base else None}
        ),  # fmt: skip
        "data": _json({"digest": result.data_digest, "rows": result.rows}),
        "metrics": _json(metrics),
        "checks": _json([c.to_dict() for c in result.checks]),
        "run_id": result.run_id or "",
    }
    if len(tags["metrics"]) > MAX_TAG:  # many extra metrics: keep the candidate's only
        tags["metrics"] = _json({"candidate": result.metrics})[:MAX_TAG]
    if len(tags["checks"]) > MAX_TAG:
        raise InvalidInput(
            f"{len(result.checks)} threshold checks do not fit in a version tag; use fewer"
        )
    for key, value in tags.items():
        client.set_model_version_tag(ref.name, ref.version, PREFIX + key, value)


def _holder(client: Client, name: str, alias: str | None, stage: str | None) -> int | None:
    if alias is not None:
        try:
            return client.get_model_version_by_alias(name, alias).version
        except NotFound:
            return None
    assert stage is not None
    found = client.get_latest_versions(name, [stage])
    return found[0].version if found else None


def require_evaluation(
    client: Client,
    name: str,
    version: int | str,
    *,
    alias: str | None = None,
    stage: str | None = None,
) -> None:
    """Refuse (``PromotionRefused``) unless ``version`` has a passing evaluation against the
    current holder of ``alias`` or ``stage`` (any passing evaluation if nobody holds it).

    >>> require_evaluation(Client(), "iris", 4, alias="champion")  # doctest: +SKIP
    """
    if (alias is None) == (stage is None):
        raise InvalidInput("require_evaluation needs exactly one of alias= or stage=")
    if stage is not None:
        from modelpack.tracking.names import check_stage

        stage = check_stage(stage)
    target = f"alias '{alias}'" if alias is not None else f"stage {stage}"
    candidate = client.get_model_version(name, version)
    holder = _holder(client, name, alias, stage)
    if holder == candidate.version:
        return
    tags = candidate.tags
    how = (
        f"evaluate it first: modelpack evaluate -m models:/{name}/{candidate.version} "
        f"--baseline models:/{name}/{holder if holder is not None else '<version>'} "
        "--data DATA --target COLUMN --gate ..."
    )
    passed = tags.get(PREFIX + "passed")
    if passed is None:
        raise PromotionRefused(
            f"version {candidate.version} of '{name}' has no recorded evaluation, and moving "
            f"{target} requires one; {how}"
        )
    checks = json.loads(tags.get(PREFIX + "checks") or "[]")
    if passed != "true" or not checks:
        why = "failed its evaluation" if passed != "true" else "was evaluated without any gate"
        raise PromotionRefused(
            f"version {candidate.version} of '{name}' {why}, so {target} cannot move to it; {how}"
        )
    baseline = json.loads(tags.get(PREFIX + "baseline") or "{}")
    if holder is not None and (baseline.get("name"), baseline.get("version")) != (name, holder):
        against = (
            f"version {baseline.get('version')} of '{baseline.get('name')}'"
            if baseline.get("version") is not None
            else "no baseline"
        )
        raise PromotionRefused(
            f"version {candidate.version} of '{name}' passed an evaluation against {against}, "
            f"but {target} is now held by version {holder}; {how}"
        )


__all__ = ["PREFIX", "record", "require_evaluation"]
