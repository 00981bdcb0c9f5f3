"""Train an iris classifier, save it with its signature, load it back and predict.

python examples/iris_sklearn.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import modelpack


def main(out_dir: Path) -> None:
    features, target = load_iris(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(features, target, random_state=42)
    model = RandomForestClassifier(n_estimators=50, max_depth=4, random_state=42)
    model.fit(x_train, y_train)

    signature = modelpack.infer_signature(x_train, model.predict(x_train))
    path = out_dir / "iris-rf"
    modelpack.sklearn.save_model(model, path, signature=signature, input_example=x_train.head(3))
    print(f"saved to {path} (skops format; loads without executing pickled code)")

    loaded = modelpack.load_model(path)
    predictions = loaded.predict(x_test)
    accuracy = float((predictions == y_test.to_numpy()).mean())
    print(f"accuracy on {len(x_test)} held-out rows: {accuracy:.3f}")
    print(f"signature inputs: {loaded.signature.inputs.input_names()}")

    try:  # the signature refuses data that would be silently truncated
        loaded.predict(x_test.astype({"petal width (cm)": str}))
    except modelpack.SchemaError as err:
        print(f"bad input refused: {err}")


if __name__ == "__main__":
    target_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    main(target_dir)
