"""The ``--watch`` scenario two test files share: serve ``models:/iris@champion`` at
version 1, point the alias at a version that cannot load (2), wait, then at a good one
(3), and report which version was served at each point."""

from __future__ import annotations

import asyncio
import gc
from typing import Any


def serve_through_a_bad_version(client: Any, wait_on_bad: float) -> tuple[str, str, str]:
    """(served first, served ``wait_on_bad`` s after the alias moved to 2, served once it
    moved to 3); a holder that loses its place serves "" ."""
    from modelpack.serving.http.config import ServeConfig
    from modelpack.serving.http.model_state import ModelHolder

    client.set_registered_model_alias("iris", "champion", 1)
    config = ServeConfig(
        model_uri="models:/iris@champion", watch=True, watch_interval=0.05, timeout=0.2
    )

    async def version(holder: ModelHolder, want: str) -> str:
        deadline = asyncio.get_running_loop().time() + 10
        while asyncio.get_running_loop().time() < deadline:
            if holder.current is not None and holder.current.identity.version == want:
                break
            await asyncio.sleep(0.02)
        return "" if holder.current is None else holder.current.identity.version

    async def scenario() -> tuple[str, str, str]:
        holder = ModelHolder(config)
        await holder.start()
        try:
            first = await version(holder, "1")
            client.set_registered_model_alias("iris", "champion", 2)
            await asyncio.sleep(wait_on_bad)
            during = await version(holder, "1")
            client.set_registered_model_alias("iris", "champion", 3)
            return first, during, await version(holder, "3")
        finally:
            await holder.stop()

    try:
        return asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        gc.unfreeze()  # the holder froze the heap after each load
