"""``modelpack evaluate``: the evaluation gate for CI pipelines.

Exit codes: 0 every gate passed; 1 a gate failed (or a modelpack error); 2 wrong usage
(a gate that cannot be parsed, a missing option).
"""

from __future__ import annotations

import json
import math
from typing import Any

import click

from modelpack.errors import InvalidInput, ModelValidationFailed


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _table(result: Any) -> None:
    has_base = result.baseline_metrics is not None
    deltas = {d.metric: d for d in result.deltas}
    headers = ["METRIC", "CANDIDATE"] + (
        ["BASELINE", "DELTA", "95% CI", "NOISE?"] if has_base else []
    )
    rows = []
    for name, value in result.metrics.items():
        row = [name, _fmt(value)]
        delta = deltas.get(name)
        if has_base:
            row.append(_fmt(result.baseline_metrics.get(name)))
            row.append(_fmt(delta.delta) if delta else "-")
            if delta and delta.ci_low is not None:
                row.append(f"[{delta.ci_low:+.4f}, {delta.ci_high:+.4f}]")
                row.append("no" if delta.significant else "yes")
            else:
                row += ["-", "-"]
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"\nrows: {result.rows}  data digest: {result.data_digest}  run: {result.run_id}")
    for check in result.checks:
        click.echo(f"{'PASS' if check.passed else 'FAIL'}  {check.message}")
    click.echo("verdict: " + ("PASS" if result.passed else "FAIL"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


@click.command("evaluate")
@click.option("-m", "--model", "model_uri", required=True, help="Candidate model URI.")
@click.option("--baseline", "baseline_uri", default=None, help="Baseline model URI.")
@click.option("--data", "data_path", required=True, help="Parquet or CSV test set.")
@click.option("--target", required=True, help="Column holding the true values.")
@click.option(
    "--model-type", type=click.Choice(["classifier", "regressor"]), default="classifier",
    show_default=True,
)  # fmt: skip
@click.option(
    "--gate", "gates", multiple=True,
    help='e.g. "accuracy>=0.9", "f1>=baseline+0.01", "rmse<=baseline-5%" (repeatable).',
)  # fmt: skip
@click.option("--average", default=None, help="binary, micro, macro or weighted.")
@click.option("--pos-label", default=None, help="Positive label of a binary classifier.")
@click.option("--bootstrap", "resamples", type=click.IntRange(min=0), default=None,
              help="Bootstrap resamples for the delta intervals (default 200; 0: off).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--tracking-uri", envvar="MODELPACK_TRACKING_URI", default=None,
    help="Store to use (default: $MODELPACK_TRACKING_URI, else ./modelpack-store).",
)  # fmt: skip
def evaluate_command(
    model_uri: str,
    baseline_uri: str | None,
    data_path: str,
    target: str,
    model_type: str,
    gates: tuple[str, ...],
    average: str | None,
    pos_label: str | None,
    resamples: int | None,
    seed: int,
    as_json: bool,
    tracking_uri: str | None,
) -> None:
    """Evaluate a candidate model (against a baseline) and gate on the result."""
    from modelpack.evaluation.api import evaluate
    from modelpack.evaluation.thresholds import parse_gates

    try:
        thresholds = parse_gates(list(gates))
    except InvalidInput as exc:
        raise click.UsageError(exc.message) from None
    if baseline_uri is None and any(t.needs_baseline for t in thresholds.values()):
        raise click.UsageError("a gate compares with the baseline; pass --baseline URI")
    if tracking_uri:
        from modelpack.tracking import set_tracking_uri

        set_tracking_uri(tracking_uri)
    config: dict[str, Any] = {"bootstrap_seed": seed}
    if average:
        config["average"] = average
    if pos_label is not None:
        config["pos_label"] = _label(pos_label)
    if resamples is not None:
        config["bootstrap_resamples"] = resamples
    try:
        result = evaluate(
            model_uri, data_path, targets=target, model_type=model_type,
            baseline_model=baseline_uri, validation_thresholds=thresholds,
            evaluator_config=config,
        )  # fmt: skip
    except ModelValidationFailed as exc:
        _show(exc.result, as_json)
        click.get_current_context().exit(1)
    _show(result, as_json)


def _label(text: str) -> Any:
    """A --pos-label as the number it spells, else the string."""
    try:
        return int(text)
    except ValueError:
        return text


def _show(result: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(_jsonable(result.to_dict()), indent=2))
    else:
        _table(result)


__all__ = ["evaluate_command"]
