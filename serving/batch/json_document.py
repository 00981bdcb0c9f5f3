"""``modelpack predict -t json``: one MLflow scoring document in, its predictions out.

MLflow users score a file holding an ``/invocations`` body (``dataframe_split``,
``dataframe_records``, ``instances`` or ``inputs``, optional ``params``) with
``mlflow models predict -i input.json -t json``. The document is parsed exactly as the
HTTP server parses a request, enforced by the model's signature, and answered with the
server's body, ``{"predictions": ...}``. A document is read whole, so its size is
capped; stream large data as CSV, parquet or JSON lines instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from modelpack.errors import InvalidInput

#: The largest scoring document read; bigger inputs belong in a streamed format.
MAX_DOCUMENT_BYTES = 1 << 30
_SCORING_KEYS = re.compile(
    rb'^\s*\{\s*"(dataframe_split|dataframe_records|instances|inputs|params)"'
)


def is_scoring_document(path: Path) -> bool:
    """Whether a ``.json`` file holds one MLflow scoring document (its first key is one
    of the request fields) rather than JSON lines."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return _SCORING_KEYS.match(head) is not None


def score_document(model_uri: str, source: Path, *, trust: bool | None = None) -> bytes:
    """The ``{"predictions": ...}`` answer to the scoring document in ``source``.

    >>> score_document("models:/iris/1", Path("request.json"))  # doctest: +SKIP
    b'{"predictions":[0,2]}'
    """
    from modelpack.pyfunc_model import load_model
    from modelpack.serving.encoding import encode_predictions
    from modelpack.serving.parsing import JSON_TYPE, parse_request

    if not source.is_file():
        raise InvalidInput(f"input '{source}' is not a file; -t json reads one JSON document")
    size = source.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            f"input '{source}' is {size:,} bytes, over the {MAX_DOCUMENT_BYTES:,} a JSON "
            "document may hold; write the data as CSV, parquet or JSON lines, which are "
            "streamed"
        )
    body = source.read_bytes()
    model = load_model(model_uri, trust=trust)
    schema = model.signature.inputs if model.signature is not None else None
    try:
        prepared = model.prepare_input(*parse_request(body, JSON_TYPE, schema))
    except InvalidInput as exc:  # SchemaError too: name the file the bad document is in
        raise type(exc)(f"input '{source}': {exc.message}") from None
    predictions = model.predict_prepared(*prepared)
    answer: bytes = encode_predictions(predictions)
    return answer


__all__ = ["MAX_DOCUMENT_BYTES", "is_scoring_document", "score_document"]
