"""A dict, or a matplotlib figure, as the bytes of a run artifact file: what
``log_dict`` and ``log_figure`` write, whichever store receives them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelpack.errors import DependencyMissing, InvalidInput


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """``dictionary`` as YAML for ``.yaml``/``.yml`` files, else as indented JSON."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(dictionary, sort_keys=False).encode()
    try:
        return json.dumps(dictionary, indent=2).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"log_dict: '{artifact_file}' needs JSON-serialisable data ({exc}); "
            "convert values to str, int, float, list or dict"
        ) from None


def figure_bytes(figure: Any, artifact_file: str) -> bytes:
    """Render a matplotlib figure to bytes in the format its file name says."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise DependencyMissing(
            "log_figure needs matplotlib, which is not installed; run 'pip install matplotlib'"
        ) from None
    if not hasattr(figure, "savefig"):
        raise InvalidInput(
            f"log_figure expects a matplotlib Figure, got {type(figure).__name__}; "
            "pass the object plt.subplots() returned first"
        )
    import io

    buffer = io.BytesIO()
    suffix = Path(artifact_file).suffix.lstrip(".") or "png"
    figure.savefig(buffer, format=suffix)
    return buffer.getvalue()


__all__ = ["dict_bytes", "figure_bytes"]
