"""``modelpack serve``'s ``/docs``: the served model's own page, from the UI's templates.

Name and version, the signature as a table, the input example, a try-it form that posts
to ``/invocations`` and shows the answer, ``curl`` and Python snippets, links to
``/openapi.json`` and ``/metrics``. Rendered per request from the model's ``MLmodel``
file; nothing here runs on the scoring path.
"""

from __future__ import annotations

import json

from modelpack.ui.signatures import read_model_summary
from modelpack.ui.web import environment

_DEFAULT_BODY = '{"dataframe_records": [{}]}'


def _pretty(example: str | None) -> str:
    if not example:
        return _DEFAULT_BODY
    try:
        return json.dumps(json.loads(example), indent=2)
    except ValueError:
        return example


def render_model_docs(name: str, version: str, model_dir: str) -> str:
    """The HTML of the model page for the model served from ``model_dir``."""
    summary = read_model_summary(model_dir) or {
        "flavors": [], "signature": {"inputs": [], "outputs": [], "params": []},
        "input_example": None, "run_id": None,
    }  # fmt: skip
    body = _pretty(summary["input_example"])
    compact = json.dumps(json.loads(body), separators=(",", ":")) if body != _DEFAULT_BODY else body
    python = (
        "import httpx\n\n"
        f"body = {compact}\n"
        'answer = httpx.post("http://127.0.0.1:5000/invocations", json=body)\n'
        'print(answer.json()["predictions"])'
    )
    return environment().get_template("serving.html").render(
        root="", csrf="", user=None, partial=False,
        name=name, version=version, model=summary, body=body, python=python,
        compact=compact.replace("'", "'\\''"),
    )  # fmt: skip


__all__ = ["render_model_docs"]
