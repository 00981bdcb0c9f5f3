"""Running the tracking server under uvicorn on a socket bound here, so a port in use is
a clear error and ``--port 0`` prints the port the system chose."""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import socket
import sys

from modelpack.errors import InvalidInput
from modelpack.server.app import CONFIG_ENV, ServerConfig, build_app

log = logging.getLogger("modelpack.server")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; :class:`InvalidInput` if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInput(
                f"port {port} on {host} is already in use; pick another with --port "
                "(or --port 0 for any free one)"
            ) from None
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    return sock


def run(config: ServerConfig) -> None:
    """Serve ``config`` until SIGTERM or SIGINT.

    >>> run(ServerConfig(backend_store_uri="sqlite:////tmp/store.db", port=5000))  # doctest: +SKIP
    """
    import uvicorn

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    app = build_app(config)  # also in the parent with workers: a bad store fails here, once
    sock = bind(config.host, config.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"modelpack tracking server listening on http://{shown}:{port}", flush=True)
    quiet = {"lifespan": "off", "log_config": None, "server_header": False, "access_log": False}
    try:
        if config.workers == 1:
            uvicorn.Server(uvicorn.Config(app, **quiet)).run(sockets=[sock])  # type: ignore[arg-type]
            return
        from uvicorn.supervisors import Multiprocess

        # each worker process builds its own app (and store connections) from the config
        os.environ[CONFIG_ENV] = json.dumps(dataclasses.asdict(config))
        factory = uvicorn.Config(
            "modelpack.server.app:app_from_environment",
            factory=True,
            workers=config.workers,
            **quiet,  # type: ignore[arg-type]
        )
        Multiprocess(factory, sockets=[sock]).run()
    finally:
        sock.close()
