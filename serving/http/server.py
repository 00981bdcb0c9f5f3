"""Running the scoring app under uvicorn, in one process or several.

With ``--workers N`` the parent binds the socket and loads the model *before* forking,
so the N children share the model's memory copy-on-write and accept on the one
inherited socket. SIGTERM (or Ctrl-C) stops accepting and lets in-flight requests
finish in every worker before the process exits.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import Any

from modelpack.serving.http.config import ServeConfig

log = logging.getLogger("modelpack.serving")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, inheritable by forked workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _uvicorn_server(config: ServeConfig, app: Any) -> Any:
    import uvicorn

    from modelpack.serving.http.transport import OneWriteHttpToolsProtocol

    uv_config = uvicorn.Config(
        app,
        loop="uvloop",
        http=OneWriteHttpToolsProtocol,
        lifespan="on",
        access_log=config.access_log,
        server_header=False,  # no "server: uvicorn": nothing to fingerprint, fewer bytes
        log_level="info",
        timeout_graceful_shutdown=int(config.timeout) + 1,
        # the socket is ours: uvicorn must not print a misleading bind address
        log_config=None,
    )
    return uvicorn.Server(uv_config)


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _fork_safe(config: ServeConfig) -> bool:
    """Whether the model's flavor lets it be loaded once, before forking the workers
    (read from ``MLmodel`` alone: the files are verified when the model is loaded)."""
    from modelpack.mlmodel import read_mlmodel
    from modelpack.pyfunc_model import flavor_of, fork_safe
    from modelpack.serving.http.model_state import identify

    path = identify(config.model_uri).path
    return fork_safe(flavor_of(path, read_mlmodel(path)))


def run(config: ServeConfig) -> None:
    """Serve ``config`` until SIGTERM or SIGINT.

    >>> run(ServeConfig(model_uri="models:/iris@champion", workers=4))  # doctest: +SKIP
    """
    _setup_logging()
    multiproc_dir = None
    if config.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # must be set before prometheus_client is first imported (it picks its store then)
        multiproc_dir = tempfile.mkdtemp(prefix="modelpack-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiproc_dir
    sock = bind(config.host, config.port)
    host, port = sock.getsockname()[:2]
    log.info("modelpack serving %s on http://%s:%d", config.model_uri, host, port)
    try:
        if config.workers == 1:
            _serve_worker(config, sock, None)
        else:
            _serve_forked(config, sock)
    finally:
        sock.close()
        if multiproc_dir:
            shutil.rmtree(multiproc_dir, ignore_errors=True)


def _serve_worker(config: ServeConfig, sock: socket.socket, preloaded: Any) -> None:
    from modelpack.serving.http.app import build_app

    if preloaded is None:
        app = build_app(config)
    else:
        model, identity, seconds = preloaded
        app = build_app(config, model, identity=identity, load_seconds=seconds)
    _uvicorn_server(config, app).run(sockets=[sock])


def _serve_forked(config: ServeConfig, sock: socket.socket) -> None:
    from modelpack.serving.http import metrics
    from modelpack.serving.http.app import build_app  # noqa: F401  (imported once, shared by children)
    from modelpack.serving.http.model_state import load

    preloaded = load(config) if _fork_safe(config) else None
    if preloaded is not None:
        log.info("model loaded in %.2f s before forking %d workers", preloaded[2], config.workers)
    children: dict[int, int] = {}
    stopping = False

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _serve_worker(config, sock, preloaded)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        children[pid] = slot

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(config.workers):
        spawn(slot)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        slot = children.pop(pid, -1)
        metrics.worker_exited(pid)
        if slot >= 0 and not stopping:
            log.warning("worker %d exited (status %d); starting a new one", pid, status)
            time.sleep(0.5)
            spawn(slot)


__all__ = ["bind", "run"]
