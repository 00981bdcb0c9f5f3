"""A model version that a ``--watch`` swap has just replaced.

A request takes the served model once, when it arrives. If the swap happens while it
is being read, it reaches the old version's batcher after that batcher was closed; it
must still be answered (by the version it was routed to), never left waiting. Once
nothing uses the old version any more, its memory must be given back. A new version
that cannot be loaded leaves the old one serving, and is not reloaded in a tight loop.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path
from typing import Any

import pytest

from modelpack.pyfunc_model import load_model
from modelpack.serving.http.batching import Batcher
from tests.serving.watch_scenario import serve_through_a_bad_version


def _batcher(path: Path) -> Batcher:
    model = load_model(path)
    return Batcher(
        model, max_batch_rows=64, max_wait_ms=1, max_queue=16, prepare=model.prepare_input
    )


def test_a_request_reaching_a_closed_and_drained_batcher_is_answered(
    iris_model: Path, iris_frame: Any
) -> None:
    frame = iris_frame[0]

    async def scenario() -> tuple[Any, Any]:
        batcher = _batcher(iris_model)
        first = await batcher.predict(frame.iloc[:3], None, timeout=10, prepared=False)
        batcher.close()  # the swap: the dispatcher drains its queue, the model thread ends
        await asyncio.sleep(0.2)
        late = await batcher.predict(frame.iloc[3:5], None, timeout=10, prepared=False)
        return first, late

    first, late = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert len(first) == 3 and len(late) == 2


def test_requests_racing_the_close_are_all_answered_in_order(
    iris_model: Path, iris_frame: Any
) -> None:
    frame = iris_frame[0]
    model = load_model(iris_model)
    want = model.predict(frame).tolist()

    async def scenario() -> list[Any]:
        batcher = _batcher(iris_model)
        answers = []
        for round_ in range(20):  # close while some are queued, some arrive after
            tasks = [
                asyncio.ensure_future(
                    batcher.predict(frame.iloc[i : i + 1], None, timeout=10, prepared=False)
                )
                for i in range(round_, round_ + 4)
            ]
            await asyncio.sleep(0)
            batcher.close()
            tasks += [
                asyncio.ensure_future(
                    batcher.predict(frame.iloc[i : i + 1], None, timeout=10, prepared=False)
                )
                for i in range(round_ + 4, round_ + 6)
            ]
            answers.append([list(a) for a in await asyncio.gather(*tasks)])
            await asyncio.sleep(0.01 * (round_ % 3))
        return answers

    answers = asyncio.run(asyncio.wait_for(scenario(), 60))
    for round_, got in enumerate(answers):
        assert got == [[want[i]] for i in range(round_, round_ + 6)]


def test_watch_frees_the_versions_it_replaced(
    iris_model: Path,
    shifted_iris_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the server freezes its heap after each load (gc.freeze), and a served version's
    # batcher and enforcement refer to each other: unless the holder collects the
    # replaced version, every alias move would keep another model in memory
    import modelpack
    from modelpack.serving.http.config import ServeConfig
    from modelpack.serving.http.model_state import ModelHolder

    store = tmp_path / "store"
    monkeypatch.setenv("MODELPACK_TRACKING_URI", str(store))
    client = modelpack.Client(str(store))
    modelpack.register_model(iris_model, "iris", client=client)
    modelpack.register_model(shifted_iris_model, "iris", client=client)
    client.set_registered_model_alias("iris", "champion", 1)
    config = ServeConfig(
        model_uri="models:/iris@champion", watch=True, watch_interval=0.05, timeout=0.2
    )

    async def scenario() -> tuple[list[str], list[bool]]:
        holder = ModelHolder(config)
        await holder.start()
        served: list[weakref.ref[Any]] = []
        versions = []
        try:
            for move in range(5):
                while holder.current is None or (served and served[-1]() is holder.current.model):
                    await asyncio.sleep(0.02)
                versions.append(holder.current.identity.version)
                served.append(weakref.ref(holder.current.model))
                if move < 4:
                    client.set_registered_model_alias("iris", "champion", 2 - move % 2)
            await asyncio.sleep(1.5)  # past --timeout: nothing can use the old ones now
            assert holder.current is not None and served[-1]() is holder.current.model
            return versions, [ref() is not None for ref in served]
        finally:
            await holder.stop()

    try:
        versions, alive = asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        gc.unfreeze()
    assert versions == ["1", "2", "1", "2", "1"]
    assert alive == [False, False, False, False, True]  # only the one being served


def test_watch_keeps_serving_past_a_broken_version_and_backs_off(
    iris_model: Path,
    shifted_iris_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import modelpack
    from modelpack.tracking.resolve import resolve_models_uri

    store = tmp_path / "store"
    monkeypatch.setenv("MODELPACK_TRACKING_URI", str(store))
    client = modelpack.Client(str(store))
    for model in (iris_model, shifted_iris_model, iris_model):  # the store dedups content
        modelpack.register_model(model, "iris", client=client)
    broken = resolve_models_uri("models:/iris/2")[2] / "MLmodel"
    broken.write_text("flavors: [unclosed\n")  # a version whose files were damaged
    with caplog.at_level("WARNING", logger="modelpack.serving"):
        first, during, after = serve_through_a_bad_version(client, 1.6)
    assert (first, during, after) == ("1", "1", "3")
    tries = [r for r in caplog.records if "version 2 could not be loaded" in r.getMessage()]
    # the wait doubles from 0.05 s: 0.05 + 0.1 + 0.2 + 0.4 + 0.8 covers the 1.6 s, where
    # trying every 0.05 s would have loaded the broken version some thirty times
    assert 2 <= len(tries) <= 7, [r.getMessage() for r in tries]
    assert "MLmodel" in tries[0].getMessage()  # says what is wrong with it


def test_a_drained_version_is_freed_without_a_garbage_collection(
    iris_model: Path, iris_frame: Any
) -> None:
    # a full collection after a swap blocks the event loop for tens of milliseconds and,
    # in a forked worker, copies the heap pages shared with the parent: reference
    # counting alone must free a served version once its requests are answered
    from modelpack.serving.http.config import ServeConfig
    from modelpack.serving.http.model_state import ServedModel, load

    config = ServeConfig(model_uri=str(iris_model), timeout=0.05)
    frame = iris_frame[0]

    async def scenario() -> tuple[weakref.ref[Any], weakref.ref[Any]]:
        served = ServedModel(config, *load(config))
        rows = [frame.iloc[i : i + 1] for i in range(4)]
        await asyncio.gather(*(served.batcher.predict(r, None, 0.05, prepared=False) for r in rows))
        served.batcher.close()
        await asyncio.sleep(0.3)  # the batcher drains; the deadline timer has fired
        return weakref.ref(served), weakref.ref(served.model)

    gc.disable()
    try:
        served, model = asyncio.run(scenario())
        assert served() is None and model() is None
    finally:
        gc.enable()
