"""The served model: loading it, naming it, and swapping it when a watched URI moves.

A request takes ``holder.current`` once and keeps that :class:`ServedModel` to the end,
so a swap (load the new version fully, then replace one reference) never touches an
in-flight request; the old batcher finishes its queue and stops, and once every request
that took the old version is over, the holder collects it (see :meth:`ModelHolder._reclaim`).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException

from modelpack.errors import ModelpackError, SchemaError
from modelpack.pyfunc_model import PyFuncModel, load_model
from modelpack.serving.encoding import dumps
from modelpack.serving.http.batching import Batcher
from modelpack.serving.http.config import ServeConfig
from modelpack.serving.http.metrics import ModelMetrics

log = logging.getLogger("modelpack.serving")


@dataclass(frozen=True)
class ModelIdentity:
    """Which model a URI names now: registry name and version where there is one."""

    name: str
    version: str
    path: Path


def identify(uri: str, name: str = "", version: str = "") -> ModelIdentity:
    """Resolve ``uri`` to a name, a version and a directory (blocking: registry lookup).

    ``name`` and ``version``, when given, are what the model is served as (a container
    image serves a copied directory under the registry's name and version).

    >>> identify("/models/iris").name  # doctest: +SKIP
    'iris'
    """
    from modelpack.uris import resolve_model_uri

    if uri.startswith("models:"):
        from modelpack.tracking.resolve import resolve_models_uri

        found, number, path = resolve_models_uri(uri, verify=False)  # load() verifies
        return ModelIdentity(name or found, version or str(number), path)
    path = resolve_model_uri(uri)
    found = path.name if not uri.startswith("runs:") else uri.rstrip("/").rsplit("/", 1)[-1]
    return ModelIdentity(name or found or "model", version or "1", path)


def served_identity(config: ServeConfig) -> ModelIdentity:
    """:func:`identify` for the model ``config`` serves, under the name and version it sets."""
    return identify(config.model_uri, config.model_name, config.model_version)


def batch_rows(config: ServeConfig, model: PyFuncModel) -> int:
    """The rows one prediction may merge: the configured value, or the automatic choice."""
    if config.max_batch_rows:
        return int(config.max_batch_rows)
    if not model.rows_independent:
        return 1  # a custom model may look at the whole batch: never merge it unasked
    inputs = model.signature.inputs if model.signature else None
    if inputs is not None and inputs.is_tensor_spec():
        shapes = [getattr(spec, "shape", ()) for spec in inputs.inputs]
        if any(not shape or shape[0] != -1 for shape in shapes):
            return 1
    return 256


def metadata_doc(identity: ModelIdentity, model: PyFuncModel, uri: str) -> dict[str, Any]:
    """The ``GET /metadata`` document."""
    sig = model.signature
    return {
        "name": identity.name,
        "version": identity.version,
        "uri": uri,
        "flavors": model.metadata.flavors,
        "model_uuid": model.metadata.model_uuid,
        "run_id": model.metadata.run_id,
        "signature": None
        if sig is None
        else {
            "inputs": sig.inputs.to_list() if sig.inputs else None,
            "outputs": sig.outputs.to_list() if sig.outputs else None,
            "params": sig.params.to_list() if sig.params else None,
        },
    }


class ServedModel:
    """One loaded model version with its batcher, metrics and ready-made metadata."""

    def __init__(
        self, config: ServeConfig, model: PyFuncModel, identity: ModelIdentity, load_s: float
    ) -> None:
        self.model = model
        self.identity = identity
        self.input_schema = model.signature.inputs if model.signature else None
        self.metrics = ModelMetrics(identity.name, identity.version)
        self.metrics.loaded(load_s)
        self.batcher = Batcher(
            model,
            max_batch_rows=batch_rows(config, model),
            max_wait_ms=config.max_wait_ms,
            max_queue=config.max_queue,
            observer=self.metrics.batch,
            on_depth=self.metrics.queue_depth,
            # the model's, not this object's: a bound method here would make the served
            # version and its batcher a cycle, which only a full collection could free
            prepare=functools.partial(enforce, model),
        )
        self.metadata = metadata_doc(identity, model, config.model_uri)
        self.metadata_body = dumps(self.metadata)

    def enforce(self, data: Any, params: Any) -> tuple[Any, Any]:
        """``prepare_input``, with any stray exception of enforcement reported as a 400."""
        return enforce(self.model, data, params)


def enforce(model: PyFuncModel, data: Any, params: Any) -> tuple[Any, Any]:
    """``model.prepare_input``, with any stray exception of enforcement reported as a 400."""
    try:
        return model.prepare_input(data, params)
    except ModelpackError:
        raise
    except Exception as exc:  # input shaped so oddly that enforcement tripped over it
        raise SchemaError(
            f"the input does not fit the model's signature ({type(exc).__name__}); "
            "see GET /metadata for the expected columns and types"
        ) from None


def load(
    config: ServeConfig, identity: ModelIdentity | None = None
) -> tuple[PyFuncModel, ModelIdentity, float]:
    """Load the model ``config`` names (blocking); returns it, its identity and the seconds."""
    start = time.perf_counter()
    identity = identity or served_identity(config)
    if config.model_uri.startswith("models:"):
        from modelpack.tracking.snapshots.verify import verify_version_dir

        verify_version_dir(identity.name, identity.version, identity.path)
    model = load_model(identity.path, trust=config.trust or None)
    model.signature  # noqa: B018  (parsed now: a malformed one fails the load, not serving)
    if config.warmup:
        warm(model)
    return model, identity, time.perf_counter() - start


def warm(model: PyFuncModel) -> bool:
    """Predict once on the model's input example (or, for numeric tensors, a row of
    zeros), if there is one; True when that worked.

    A model's first call is often far slower than the rest (an ONNX session sizes its
    arenas, numpy and sklearn fill caches). Paid here, before the server reports ready,
    it does not reach a client, nor the batcher's estimate of how long a batch takes —
    which would otherwise turn away the first requests with 503 as if overloaded. A
    failure is only logged: the example may predate a signature change, and serving
    must not depend on it.
    """
    try:
        started = time.perf_counter()
        example, source = model.metadata.load_input_example(), "the input example"
        if example is None:
            example, source = _zeros_example(model), "a row of zeros"
        if example is None:
            return False
        model.predict(example)
        log.info("warmed up on %s in %.0f ms", source, 1000 * (time.perf_counter() - started))
    except Exception as exc:  # a model's own code may raise anything
        log.warning("warm-up prediction failed (%s); serving anyway", _reason(exc))
        return False
    return True


def _zeros_example(model: PyFuncModel) -> Any:
    """One row of zeros for a tensor signature of numeric tensors (no example saved, as
    is usual for ONNX models), or None: other inputs cannot be made up safely."""
    inputs = model.signature.inputs if model.signature else None
    if inputs is None or not inputs.is_tensor_spec():
        return None
    import numpy as np

    from modelpack.signature import TensorSpec

    tensors: dict[str | None, Any] = {}
    for spec in inputs.inputs:
        if not isinstance(spec, TensorSpec) or spec.dtype.kind not in "biuf" or len(spec.shape) > 8:
            return None
        shape = tuple(1 if n == -1 else n for n in spec.shape)
        if int(np.prod(shape)) > 1_000_000:
            return None
        tensors[spec.name] = np.zeros(shape, dtype=spec.dtype)
    if len(tensors) == 1 and None in tensors:
        return tensors[None]
    return None if None in tensors else tensors


def _settle_heap() -> None:
    """Move the loaded libraries and model out of the collector's view.

    Full collections would otherwise walk every object sklearn, pandas and the model
    created — tens of milliseconds that land on whichever request is in flight.
    """
    gc.freeze()


#: attempts at collecting a replaced version, ``--timeout`` + 1 s apart
RECLAIM_TRIES = 5
#: longest wait before ``--watch`` tries again a version that failed to load (the wait
#: doubles from ``--watch-interval`` with each failure)
RETRY_MAX_S = 300.0


def _reason(exc: BaseException) -> str:
    """What went wrong, for a log line: our own message, or only the exception's type
    (a foreign exception's text may quote the model's files or data)."""
    return exc.message if isinstance(exc, ModelpackError) else type(exc).__name__


class ModelHolder:
    """Holds the current :class:`ServedModel`; loads it and follows ``--watch``."""

    def __init__(
        self,
        config: ServeConfig,
        preloaded: tuple[PyFuncModel, ModelIdentity, float] | None = None,
    ) -> None:
        self.config = config
        self.current: ServedModel | None = None
        self._preloaded = preloaded
        self._tasks: list[asyncio.Task[None]] = []
        self.load_error: str | None = None
        #: called when the model cannot be served at all and ``--watch`` will not retry:
        #: the server stops and says why (set by ``server.py``)
        self.on_fatal: Callable[[BaseException], None] | None = None
        #: load before the server takes connections, rather than in the background with
        #: 503 until loaded: a forked worker sharing the socket with ready ones must not
        #: take requests it can only refuse (set by ``server.py``)
        self.load_before_serving = False

    def not_ready(self) -> HTTPException:
        """The 503 for a request that needs the model before it is there: still loading,
        or why loading failed (the server stays up to say so)."""
        return HTTPException(503, self.load_error or "the model is still loading; retry shortly")

    async def start(self) -> None:
        """Begin serving: take the preloaded model or load it in the background; start watching."""
        if self._preloaded is not None:
            preloaded, self._preloaded = self._preloaded, None
            try:
                self.current = ServedModel(self.config, *preloaded)
            except Exception as exc:  # e.g. a signature that cannot be served
                self._failed_initial(exc)
            _settle_heap()
        elif self.load_before_serving:
            await self._load_initial()
        else:
            self._tasks.append(asyncio.create_task(self._load_initial()))
        if self.config.watch:
            self._tasks.append(asyncio.create_task(self._watch()))

    async def stop(self) -> None:
        """Stop watching; let the current batcher drain."""
        for task in self._tasks:
            task.cancel()
        if self.current is not None:
            self.current.batcher.close()

    def _failed_initial(self, exc: BaseException) -> None:
        """The first load failed: say why; stop the server unless ``--watch`` retries."""
        self.load_error = f"could not load the model: {_reason(exc)}"
        if self.config.watch:
            log.error("%s; --watch retries it", self.load_error)
            return
        log.error("%s", self.load_error)
        if self.on_fatal is not None:
            self.on_fatal(exc)

    async def _load_initial(self) -> None:
        try:
            loaded = await asyncio.to_thread(load, self.config)
            served = ServedModel(self.config, *loaded)
        except Exception as exc:  # a model's own loading code may raise anything
            self._failed_initial(exc)
            return
        if self.current is None:  # --watch may have loaded a newer version meanwhile
            self.current = served
        _settle_heap()
        log.info("model %s version %s ready", loaded[1].name, loaded[1].version)

    async def _watch(self) -> None:
        interval = self.config.watch_interval
        failed: tuple[ModelIdentity, float, float] | None = None  # (which, retry at, delay)
        while True:
            await asyncio.sleep(interval)
            current = self.current
            try:
                identity = await asyncio.to_thread(served_identity, self.config)
            except Exception as exc:  # the registry unreadable for a moment: keep serving
                log.warning("--watch: keeping the current model: %s", _reason(exc))
                continue
            if current is not None and identity == current.identity:
                continue
            if failed is not None and failed[0] == identity and time.monotonic() < failed[1]:
                continue  # the version that failed to load: only retried after its delay
            try:
                loaded = await asyncio.to_thread(load, self.config, identity)
                served = ServedModel(self.config, *loaded)
            except Exception as exc:  # a broken new version must not stop the server
                delay = min(2 * failed[2], RETRY_MAX_S) if failed and failed[0] == identity else 0
                delay = max(delay, interval)
                failed = (identity, time.monotonic() + delay, delay)
                log.warning(
                    "--watch: %s version %s could not be loaded (%s); keeping the current "
                    "model; retrying that version in %.1f s",
                    identity.name,
                    identity.version,
                    _reason(exc),
                    delay,
                )
                if current is None:
                    self.load_error = f"could not load the model: {_reason(exc)}"
                continue
            failed = None
            self.current = served
            del served
            _settle_heap()
            if current is not None:
                current.batcher.close()
                self._tasks = [task for task in self._tasks if not task.done()]
                self._tasks.append(asyncio.create_task(self._reclaim(weakref.ref(current))))
                del current  # this loop must not be what keeps the old version alive
            log.info(
                "--watch: now serving %s version %s (pid %d)",
                identity.name,
                identity.version,
                os.getpid(),
            )

    async def _reclaim(self, replaced: weakref.ref[ServedModel]) -> None:
        """Free a replaced version once the requests that took it are over.

        Reference counting usually frees it as soon as its last request is answered.
        But ``gc.freeze()`` put it out of the collector's reach, so any reference cycle
        inside it (a model's own objects may refer to each other) would keep it in memory
        for good, one more model per ``--watch`` swap. Past ``--timeout`` every request
        routed to it has been answered or has failed. If it is still there, the heap is
        unfrozen, collected and frozen again. That is one full collection: tens of
        milliseconds, and in a forked worker it copies the pages shared with the parent.
        A request still reading its body may hold the old version longer, so the check
        is repeated a few times.
        """
        for _ in range(RECLAIM_TRIES):
            await asyncio.sleep(self.config.timeout + 1.0)
            if replaced() is None:
                return  # reference counting freed it: no collection needed
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            if replaced() is None:
                return
        log.warning("--watch: a replaced model version is still in use; not freed")


__all__ = [
    "ModelHolder",
    "ModelIdentity",
    "ServedModel",
    "batch_rows",
    "identify",
    "load",
    "served_identity",
    "warm",
]
