"""``modelpack experiments|runs|models``: the tracking store from the shell.

Tables for people, ``--json`` for scripts. Errors are ``ModelpackError`` subclasses,
which the root command prints as ``error: <message>`` with exit code 1.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from modelpack.errors import InvalidInput, NotFound
from modelpack.tracking.client import Client
from modelpack.tracking.entities import ModelVersion, RegisteredModel, Run

F = TypeVar("F", bound=Callable[..., Any])


def _uri_option(func: F) -> F:
    return click.option(
        "--tracking-uri",
        envvar="MODELPACK_TRACKING_URI",
        default=None,
        help="Store to use (default: $MODELPACK_TRACKING_URI, else ./modelpack-store).",
    )(func)


def _json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/Infinity; keep the value readable
    return value


def _emit_json(value: Any) -> None:
    click.echo(json.dumps(_jsonable(value), indent=2, sort_keys=False))


def _time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        click.echo("(none)")
        return
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _require_evaluation_option(func: F) -> F:
    return click.option(
        "--require-evaluation",
        is_flag=True,
        help="Refuse unless VERSION passed 'modelpack evaluate' against the current holder.",
    )(func)


def _parse_tags(pairs: Sequence[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--tag expects KEY=VALUE, got an entry of {len(pair)} characters")
        tags[key] = value
    return tags


# -- experiments ----------------------------------------------------------------------


@click.group()
def experiments() -> None:
    """List experiments in the tracking store."""


@experiments.command("list")
@_uri_option
@_json_option
def experiments_list(tracking_uri: str | None, as_json: bool) -> None:
    """List active experiments, newest first."""
    found = Client(tracking_uri).search_experiments()
    if as_json:
        _emit_json(found)
        return
    _table(
        ["ID", "NAME", "CREATED"],
        [[e.experiment_id, e.name, _time(e.creation_time)] for e in found],
    )


# -- runs -----------------------------------------------------------------------------


@click.group()
def runs() -> None:
    """List and show runs."""


@runs.command("list")
@click.option("--experiment-id", "-e", multiple=True, help="Experiment id (repeatable).")
@click.option("--experiment-name", "-n", multiple=True, help="Experiment name (repeatable).")
@click.option("--filter", "filter_string", default="", help='e.g. "metrics.rmse < 0.5".')
@click.option("--order-by", multiple=True, help='e.g. "metrics.rmse DESC" (repeatable).')
@click.option("--max-results", default=100, show_default=True, type=click.IntRange(min=1))
@_uri_option
@_json_option
def runs_list(
    experiment_id: tuple[str, ...],
    experiment_name: tuple[str, ...],
    filter_string: str,
    order_by: tuple[str, ...],
    max_results: int,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """List runs (all experiments unless -e/-n), newest first."""
    client = Client(tracking_uri)
    ids = list(experiment_id)
    for name in experiment_name:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise NotFound(f"no experiment named '{name}'; see 'modelpack experiments list'")
        ids.append(experiment.experiment_id)
    found = client.search_runs(ids or None, filter_string, list(order_by), max_results)
    if as_json:
        _emit_json(found)
        return
    _table(
        ["RUN ID", "NAME", "EXPERIMENT", "STATUS", "STARTED", "METRICS"],
        [
            [
                r.info.run_id, r.info.run_name, r.info.experiment_id, r.info.status,
                _time(r.info.start_time), _metrics_summary(r),
            ]
            for r in found
        ],
    )  # fmt: skip


def _metrics_summary(run: Run, limit: int = 3) -> str:
    items = sorted(run.data.metrics.items())[:limit]
    text = ", ".join(f"{k}={v:.4g}" for k, v in items)
    return text + (", ..." if len(run.data.metrics) > limit else "")


@runs.command("show")
@click.argument("run_id")
@_uri_option
@_json_option
def runs_show(run_id: str, tracking_uri: str | None, as_json: bool) -> None:
    """Show one run: info, params, latest metrics, tags."""
    run = Client(tracking_uri).get_run(run_id)
    if as_json:
        _emit_json(run)
        return
    info = run.info
    for label, value in [
        ("run id", info.run_id), ("name", info.run_name), ("experiment", info.experiment_id),
        ("status", info.status), ("started", _time(info.start_time)),
        ("ended", _time(info.end_time)), ("artifacts", info.artifact_uri),
    ]:  # fmt: skip
        click.echo(f"{label + ':':<12}{value}")
    for title, mapping in (
        ("params", run.data.params),
        ("metrics", run.data.metrics),
        ("tags", run.data.tags),
    ):
        click.echo(f"\n{title}:")
        _table(["KEY", "VALUE"], [[k, v] for k, v in sorted(mapping.items())])


# -- models -------------------------------------------------------------------------


@click.group()
def models() -> None:
    """Registered models: list, show, register, transition, aliases."""


def _versions_table(versions: Sequence[ModelVersion]) -> None:
    _table(
        ["VERSION", "STAGE", "ALIASES", "RUN ID", "CREATED", "SOURCE"],
        [
            [
                v.version, v.current_stage, ",".join(v.aliases) or "-", v.run_id or "-",
                _time(v.creation_timestamp), v.source,
            ]
            for v in versions
        ],
    )  # fmt: skip


def _model_row(model: RegisteredModel) -> list[Any]:
    latest = max((v.version for v in model.latest_versions), default="-")
    aliases = ",".join(f"{a}->{v}" for a, v in sorted(model.aliases.items())) or "-"
    return [model.name, latest, aliases, _time(model.last_updated_timestamp)]


@models.command("list")
@click.option("--filter", "filter_string", default="", help="e.g. \"name LIKE 'iris%'\".")
@_uri_option
@_json_option
def models_list(filter_string: str, tracking_uri: str | None, as_json: bool) -> None:
    """List registered models."""
    found = Client(tracking_uri).search_registered_models(filter_string)
    if as_json:
        _emit_json(found)
        return
    _table(["NAME", "LATEST", "ALIASES", "UPDATED"], [_model_row(m) for m in found])


@models.command("show")
@click.argument("name")
@_uri_option
@_json_option
def models_show(name: str, tracking_uri: str | None, as_json: bool) -> None:
    """Show a registered model and its latest version per stage."""
    model = Client(tracking_uri).get_registered_model(name)
    if as_json:
        _emit_json(model)
        return
    click.echo(f"name:        {model.name}")
    click.echo(f"description: {model.description or '-'}")
    click.echo(f"updated:     {_time(model.last_updated_timestamp)}")
    click.echo(f"tags:        {', '.join(f'{k}={v}' for k, v in model.tags.items()) or '-'}")
    click.echo("\nlatest versions per stage:")
    _versions_table(model.latest_versions)


@models.command("versions")
@click.argument("name")
@_uri_option
@_json_option
def models_versions(name: str, tracking_uri: str | None, as_json: bool) -> None:
    """List every version of a registered model."""
    client = Client(tracking_uri)
    client.get_registered_model(name)  # a clear error for an unknown name
    found = client.search_model_versions(f"name = '{name}'")
    if as_json:
        _emit_json(found)
        return
    _versions_table(found)


@models.command("register")
@click.argument("model_uri")
@click.argument("name")
@click.option("--tag", "tags", multiple=True, help="KEY=VALUE tag on the version (repeatable).")
@_uri_option
@_json_option
def models_register(
    model_uri: str, name: str, tags: tuple[str, ...], tracking_uri: str | None, as_json: bool
) -> None:
    """Register the model at MODEL_URI as the next version of NAME."""
    from modelpack.tracking.models import register_model

    version = register_model(model_uri, name, tags=_parse_tags(tags), client=Client(tracking_uri))
    if as_json:
        _emit_json(version)
        return
    click.echo(
        f"registered '{version.name}' version {version.version} (models:/{name}/{version.version})"
    )


@models.command("transition")
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option("--archive-existing", is_flag=True, help="Archive other versions in STAGE.")
@_require_evaluation_option
@_uri_option
@_json_option
def models_transition(
    name: str,
    version: str,
    stage: str,
    archive_existing: bool,
    require_evaluation: bool,
    tracking_uri: str | None,
    as_json: bool,
) -> None:
    """Move VERSION of NAME to STAGE (None, Staging, Production, Archived)."""
    if require_evaluation:
        from modelpack.evaluation import require_evaluation as check

        check(Client(tracking_uri), name, version, stage=stage)
    result = Client(tracking_uri).transition_model_version_stage(
        name, version, stage, archive_existing
    )
    if as_json:
        _emit_json(result)
        return
    click.echo(f"'{name}' version {result.version} is now in stage {result.current_stage}")


@models.command("set-alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version")
@_require_evaluation_option
@_uri_option
def models_set_alias(
    name: str, alias: str, version: str, require_evaluation: bool, tracking_uri: str | None
) -> None:
    """Point ALIAS of NAME at VERSION (models:/NAME@ALIAS)."""
    if require_evaluation:
        from modelpack.evaluation import require_evaluation as check

        check(Client(tracking_uri), name, version, alias=alias)
    Client(tracking_uri).set_registered_model_alias(name, alias, version)
    click.echo(f"alias '{alias}' of '{name}' now points at version {version}")


@models.command("delete-alias")
@click.argument("name")
@click.argument("alias")
@_uri_option
def models_delete_alias(name: str, alias: str, tracking_uri: str | None) -> None:
    """Remove ALIAS from NAME."""
    Client(tracking_uri).delete_registered_model_alias(name, alias)
    click.echo(f"alias '{alias}' of '{name}' removed")


__all__ = ["experiments", "models", "runs"]
