"""``modelpack ui``: the web UI on a tracking store (the embedded one unless told)."""

from __future__ import annotations

import click


@click.command("ui")
@click.option(
    "--backend-store-uri",
    default=None,
    help="Tracking store to show (default: MODELPACK_TRACKING_URI or ./modelpack-store).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port, printed at start).",
)  # fmt: skip
def ui(backend_store_uri: str | None, host: str, port: int) -> None:
    """Browse runs, metrics, artifacts and the model registry in a web browser."""
    import uvicorn

    from modelpack.server.run import bind
    from modelpack.tracking.client import Client
    from modelpack.ui.app import build_ui

    app = build_ui(Client(backend_store_uri))
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    click.echo(f"modelpack ui listening on http://{shown}:{bound_port}")
    try:
        config = uvicorn.Config(
            app, lifespan="off", log_config=None, server_header=False, access_log=False
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["ui"]
