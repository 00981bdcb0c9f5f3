"""The batcher of a model version that a ``--watch`` swap has just replaced.

A request takes the served model once, when it arrives. If the swap happens while it
is being read, it reaches the old version's batcher after that batcher was closed; it
must still be answered (by the version it was routed to), never left waiting.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from modelpack.pyfunc_model import load_model
from modelpack.serving.batching import Batcher


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
