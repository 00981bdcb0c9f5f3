"""Running the scoring app under uvicorn, in one process or several.

With ``--workers N`` the parent binds the socket and loads the model *before* forking,
so the N children share the model's memory copy-on-write and accept on the one
inherited socket. SIGTERM (or Ctrl-C) stops accepting and lets in-flight requests
finish in every worker before the process exits.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import Any

from modelpack.errors import InvalidInput, ModelFormatError, ModelpackError
from modelpack.serving.http.config import ServeConfig

log = logging.getLogger("modelpack.serving")


#: a forked worker's exit status when its model cannot be loaded: not worth restarting
EXIT_LOAD_FAILED = 3


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``, inheritable by forked workers.

    A host that does not resolve or a port that is taken is an :class:`InvalidInput`
    naming both, not a traceback.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except (OSError, UnicodeError, OverflowError) as exc:
        sock.close()
        raise InvalidInput(_bind_failure(host, port, exc)) from None
    sock.set_inheritable(True)
    return sock


def _bind_failure(host: str, port: int, exc: BaseException) -> str:
    where = f"cannot listen on {host!r} port {port}"
    if isinstance(exc, socket.gaierror) or not isinstance(exc, OSError):
        return f"{where}: the host is not an address or name of this machine; use --host 127.0.0.1 or 0.0.0.0"
    if exc.errno == errno.EADDRINUSE:
        return f"{where}: the port is already in use; pick another --port (0 picks a free one)"
    if exc.errno == errno.EACCES:
        return f"{where}: permission denied; ports below 1024 need privileges, use --port 5000"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"{where}: the address is not on this machine; use --host 127.0.0.1 or 0.0.0.0"
    return f"{where}: {exc.strerror or type(exc).__name__}"


def load_failure(exc: BaseException) -> ModelpackError:
    """The error ``serve`` exits with when its model cannot be loaded (no ``--watch``)."""
    if isinstance(exc, ModelpackError):
        return exc
    return ModelFormatError(
        f"could not load the model: {type(exc).__name__}; serve a model that loads "
        "with modelpack.load_model, or pass --watch to keep retrying"
    )


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
    """Serve until stopped; raise :func:`load_failure` if the model could not be loaded
    (the holder stops the server then, unless ``--watch`` keeps retrying)."""
    from modelpack.serving.http.app import build_app

    if preloaded is None:
        app = build_app(config)
    else:
        model, identity, seconds = preloaded
        app = build_app(config, model, identity=identity, load_seconds=seconds)
    server = _uvicorn_server(config, app)
    fatal: list[BaseException] = []

    def stop_serving(exc: BaseException) -> None:
        fatal.append(exc)
        server.should_exit = True

    app.state.holder.on_fatal = stop_serving
    # a forked worker that loads its own model takes connections only once it can answer
    # them; the others sharing the socket serve meanwhile
    app.state.holder.load_before_serving = preloaded is None and config.workers > 1
    server.run(sockets=[sock])
    if fatal:
        raise load_failure(fatal[0])


def _serve_forked(config: ServeConfig, sock: socket.socket) -> None:
    from modelpack.serving.http import metrics
    from modelpack.serving.http.app import build_app  # noqa: F401  (imported once, shared by children)
    from modelpack.serving.http.model_state import load

    preloaded = None
    if _fork_safe(config):
        try:
            preloaded = load(config)
        except Exception as exc:  # a model's own loading code may raise anything
            if not config.watch:
                raise load_failure(exc) from None
            log.warning("could not load the model before forking; the workers retry (--watch)")
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
            except ModelpackError:  # the model cannot load (said in the log): no restart
                code = EXIT_LOAD_FAILED
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
    unloadable = False
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        slot = children.pop(pid, -1)
        metrics.worker_exited(pid)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == EXIT_LOAD_FAILED:
            unloadable = True  # every worker would fail the same way: stop them all
            stop(signal.SIGTERM, None)
        elif slot >= 0 and not stopping:
            log.warning("worker %d exited (status %d); starting a new one", pid, status)
            time.sleep(0.5)
            spawn(slot)
    if unloadable:
        raise ModelFormatError(
            "could not load the model in the workers (the reason is logged above); "
            "serve a model that loads, or pass --watch to keep retrying"
        )


__all__ = ["EXIT_LOAD_FAILED", "bind", "load_failure", "run"]
