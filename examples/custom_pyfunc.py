"""A custom Python model with an artifact and a params schema.

A keyword scorer: the vocabulary is an artifact file; ``threshold`` is a request
parameter with a default, checked against the params schema.

    python examples/custom_pyfunc.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

import modelpack
from modelpack.pyfunc import PythonModel
from modelpack.signature import ModelSignature, ParamSchema, ParamSpec


class KeywordScorer(PythonModel):
    def load_context(self, context):
        vocabulary = Path(context.artifacts["vocabulary"]).read_text().split()
        self.keywords = {word.lower() for word in vocabulary}

    def predict(self, context, model_input, params=None):
        threshold = (params or {})["threshold"]
        words = model_input["text"].str.lower().str.split()
        hits = words.map(lambda tokens: sum(token in self.keywords for token in tokens))
        return pd.DataFrame({"hits": hits, "flagged": hits >= threshold})


def main(out_dir: Path) -> None:
    vocabulary = out_dir / "vocabulary.txt"
    vocabulary.write_text("refund broken late cancel")
    example = pd.DataFrame({"text": ["my order is late", "thanks, all good"]})
    signature = ModelSignature(
        inputs=modelpack.infer_signature(example).inputs,
        params=ParamSchema([ParamSpec("threshold", "long", 1)]),
    )
    path = out_dir / "keyword-scorer"
    modelpack.pyfunc.save_model(
        path,
        python_model=KeywordScorer(),
        artifacts={"vocabulary": vocabulary},
        signature=signature,
        input_example=example,
    )
    # The model object is cloudpickled: loading it runs its code, so trust is explicit.
    model = modelpack.load_model(path, trust=True)
    print(model.predict(pd.DataFrame({"text": ["broken and late, want a refund", "fine"]})))
    print(model.predict(pd.DataFrame({"text": ["late"]}), params={"threshold": 2}))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
