"""``modelpack.spark.spark_udf`` on a real local Spark session (``local[2]``)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelpack.errors import DependencyMissing

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
# PySpark warns that it does not fully support pandas 3 yet; the tests show what works.
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, pd.DataFrame]:
    """(model dir, estimator, frame with an id and the features)."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import modelpack

    data = load_iris(as_frame=True)
    features = data.data.set_axis(FEATURES, axis=1)
    estimator = LogisticRegression(max_iter=1000).fit(features, data.target)
    path = tmp_path_factory.mktemp("spark") / "iris"
    modelpack.sklearn.save_model(estimator, path, input_example=features.head())
    frame = features.copy()
    frame.insert(0, "id", np.arange(len(frame)))
    return path, estimator, frame


JAVA_HINT = (
    "the Spark tests need a Java runtime (17 or later) and found none: install one "
    "(Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME"
)


def require_java() -> None:
    """Fail with the fix, not PySpark's ``JAVA_GATEWAY_EXITED``, when there is no java."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return
    if shutil.which("java") is None:
        pytest.fail(JAVA_HINT, pytrace=False)


def test_missing_java_fails_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y openjdk-17-jre"):
        require_java()


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    require_java()
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("modelpack-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_missing_pyspark_is_a_clear_error(
    iris: tuple[Path, Any, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelpack.spark import spark_udf

    monkeypatch.setitem(sys.modules, "pyspark.sql.functions", None)
    with pytest.raises(DependencyMissing, match=r"pip install .modelpack\[spark\]"):
        spark_udf(object(), iris[0])


def test_result_type_follows_the_output_signature(iris: tuple[Path, Any, pd.DataFrame]) -> None:
    import modelpack
    from modelpack.spark import default_result_type

    assert default_result_type(modelpack.load_model(iris[0]).metadata) == "long"


@pytest.mark.slow
def test_udf_scores_like_the_model_however_columns_are_given(
    spark: Any, iris: tuple[Path, Any, pd.DataFrame]
) -> None:
    from pyspark.sql.functions import col, struct

    from modelpack.spark import spark_udf

    path, estimator, frame = iris
    expected = estimator.predict(frame[FEATURES]).tolist()
    shuffled = spark.createDataFrame(frame[["id", *reversed(FEATURES)]]).repartition(2)
    predict = spark_udf(spark, path)

    calls = {
        "signature columns": predict(),
        "struct, matched by name": predict(struct(*reversed(FEATURES))),
        "names": predict(*FEATURES),
        "columns in signature order": predict(*[col(c) for c in FEATURES]),
    }
    for how, column in calls.items():
        out = shuffled.withColumn("prediction", column).orderBy("id").toPandas()
        assert out["prediction"].tolist() == expected, how
    assert dict(shuffled.withColumn("p", predict()).dtypes)["p"] == "bigint"


@pytest.mark.slow
def test_enforcement_failure_names_the_column(
    spark: Any, iris: tuple[Path, Any, pd.DataFrame]
) -> None:
    from modelpack.spark import spark_udf

    path, _, frame = iris
    bad = frame.head(20).copy()
    bad["petal_width"] = bad["petal_width"].astype(str)
    predict = spark_udf(spark, path)

    with pytest.raises(Exception, match="petal_width") as caught:
        spark.createDataFrame(bad).withColumn("p", predict()).collect()
    assert "SchemaError" in str(caught.value)
