"""``modelpack server``: the tracking server, and ``users create|token`` for its auth file."""

from __future__ import annotations

import sys

import click

from modelpack.server.app import ServerConfig

_AUTH_DB = click.option(
    "--auth-db",
    required=True,
    type=click.Path(dir_okay=False),
    help="SQLite file with the server's users and tokens.",
)


@click.group(invoke_without_command=True)
@click.option(
    "--backend-store-uri", default=None, help="Tracking store (default: the embedded one)."
)
@click.option(
    "--artifacts-destination",
    default=None,
    help="Where artifacts go: a directory or s3://bucket/prefix (default: beside an "
    "embedded store, else MODELPACK_ARTIFACT_ROOT). Clients reach them through the server.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", "-p", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", "-w", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--max-artifact-bytes",
    default=5 * 1024**3,
    show_default=True,
    type=click.IntRange(1),
    help="Largest artifact one upload may write.",
)
@click.option("--auth", is_flag=True, help="Deny every request without valid credentials.")
@click.option("--auth-db", default=None, type=click.Path(dir_okay=False),
              help="Users and tokens file (required with --auth).")  # fmt: skip
@click.pass_context
def server(
    ctx: click.Context,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
    host: str,
    port: int,
    workers: int,
    max_artifact_bytes: int,
    auth: bool,
    auth_db: str | None,
) -> None:
    """Run a tracking server that speaks MLflow's REST API (/api/2.0/mlflow/...).

    \b
    modelpack server --backend-store-uri sqlite:///store.db --port 5000
    modelpack server --auth --auth-db auth.db
    """
    if ctx.invoked_subcommand is not None:
        return
    if auth and not auth_db:
        raise click.UsageError("--auth needs --auth-db FILE (create users with 'server users')")
    if auth_db and not auth:
        raise click.UsageError("--auth-db is only used with --auth; add --auth")
    from modelpack.server.run import run

    run(ServerConfig(backend_store_uri, artifacts_destination, host, port, workers,
                     auth_db if auth else None, max_artifact_bytes))  # fmt: skip


@server.group()
def users() -> None:
    """Users and API tokens of a server started with --auth."""


@users.command("create")
@_AUTH_DB
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (scripts).")
@click.option(
    "--role",
    type=click.Choice(["NONE", "READ", "EDIT", "MANAGE"], case_sensitive=False),
    default="EDIT",
    show_default=True,
)
def create_user(auth_db: str, username: str, password_stdin: bool, role: str) -> None:
    """Add a user; the password is prompted for (never taken from the command line)."""
    from modelpack.server.auth import AuthStore

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    AuthStore(auth_db).create_user(username, password, role)
    click.echo(f"created user '{username}' with role {role.upper()}")


@users.command("token")
@_AUTH_DB
@click.option("--username", required=True)
def create_token(auth_db: str, username: str) -> None:
    """Print a new API token for a user (shown once: only its hash is stored)."""
    from modelpack.server.auth import AuthStore

    click.echo(AuthStore(auth_db).create_token(username))


@users.command("grant")
@_AUTH_DB
@click.option("--username", required=True)
@click.option("--experiment-id", default=None, help="The experiment's id (a number).")
@click.option("--model", default=None, help="A registered model's name.")
@click.option(
    "--permission",
    required=True,
    type=click.Choice(["READ", "EDIT", "MANAGE"], case_sensitive=False),
)
def grant(
    auth_db: str, username: str, experiment_id: str | None, model: str | None, permission: str
) -> None:
    """Let a user do at least PERMISSION on one experiment and its runs, or on one
    registered model and its versions."""
    from modelpack.server.auth import AuthStore

    if (experiment_id is None) == (model is None):
        raise click.UsageError("name exactly one of --experiment-id and --model")
    if model is not None:
        AuthStore(auth_db).grant_model(username, model, permission)
        click.echo(f"granted {permission.upper()} on model '{model}' to '{username}'")
        return
    assert experiment_id is not None
    AuthStore(auth_db).grant(username, experiment_id, permission)
    click.echo(f"granted {permission.upper()} on experiment {experiment_id} to '{username}'")
