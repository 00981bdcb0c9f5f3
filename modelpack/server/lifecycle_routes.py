"""Deleting, restoring and renaming experiments and runs over MLflow's REST API
(``runs/delete|restore``, ``experiments/delete|restore|update``). Deletes and restores
need MANAGE on the experiment, as in MLflow's own permission model; a rename EDIT."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictStr

from modelpack.errors import InvalidInput
from modelpack.server import wire
from modelpack.server.endpoint import Endpoint, Permission
from modelpack.server.routes import PREFIX
from modelpack.server.wire import NumericId
from modelpack.tracking.client import Client
from modelpack.tracking.names import check_experiment_name
from modelpack.tracking.stores.sql import lifecycle

_NO_RUN = "no run with this run_id; check the id"
_NO_EXPERIMENT = "no experiment with this experiment_id; check the id"


class ExperimentRef(wire.ExperimentId):
    experiment_id: NumericId


class UpdateExperiment(ExperimentRef):
    new_name: Annotated[StrictStr, Field(min_length=1, max_length=500)]


def _run_id(body: wire.RunRef) -> str:
    run_id = body.the_run_id()
    if run_id is None:
        raise InvalidInput("missing value for required parameter 'run_id'; name the run")
    return run_id


def delete_run(client: Client, body: wire.RunRef) -> dict[str, Any]:
    lifecycle.delete_run(client.store, _run_id(body))
    return {}


def restore_run(client: Client, body: wire.RunRef) -> dict[str, Any]:
    lifecycle.restore_run(client.store, _run_id(body))
    return {}


def delete_experiment(client: Client, body: ExperimentRef) -> dict[str, Any]:
    lifecycle.delete_experiment(client.store, int(body.experiment_id))
    return {}


def restore_experiment(client: Client, body: ExperimentRef) -> dict[str, Any]:
    lifecycle.restore_experiment(client.store, int(body.experiment_id))
    return {}


def update_experiment(client: Client, body: UpdateExperiment) -> dict[str, Any]:
    name = check_experiment_name(body.new_name)
    lifecycle.rename_experiment(client.store, int(body.experiment_id), name)
    return {}


MANAGE, EDIT = Permission.MANAGE, Permission.EDIT

#: lifecycle endpoints; grants come from the experiment the body names (or its run's)
# fmt: off
LIFECYCLE_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(f"{PREFIX}/runs/delete", ("POST",), wire.RunRef, MANAGE, delete_run, _NO_RUN),
    Endpoint(f"{PREFIX}/runs/restore", ("POST",), wire.RunRef, MANAGE, restore_run, _NO_RUN),
    Endpoint(f"{PREFIX}/experiments/delete", ("POST",), ExperimentRef, MANAGE, delete_experiment,
             _NO_EXPERIMENT),
    Endpoint(f"{PREFIX}/experiments/restore", ("POST",), ExperimentRef, MANAGE,
             restore_experiment, _NO_EXPERIMENT),
    Endpoint(f"{PREFIX}/experiments/update", ("POST",), UpdateExperiment, EDIT, update_experiment,
             _NO_EXPERIMENT),
)
# fmt: on
