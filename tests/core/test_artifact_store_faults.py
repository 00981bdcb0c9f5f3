"""S3 faults, made for real on a moto_server endpoint: no bucket, access denied (an IAM
policy that refuses some uploads), endpoint down. Each is a clear StoreError naming
the bucket and the endpoint and never a credential, and a failed upload never leaves
a registered version whose files are missing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelpack
from modelpack.errors import StoreError
from modelpack.tracking import Client, config
from modelpack.tracking.artifact_stores import S3Root
from tests.core.conftest import MakeModelDir
from tests.s3_server import CREDENTIALS, MotoServer


@pytest.fixture
def own_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """A moto_server of this test's own (it is stopped or re-configured mid-test)."""
    monkeypatch.delenv("INITIAL_NO_AUTH_ACTION_COUNT", raising=False)
    server = MotoServer.start()
    try:
        yield server
    finally:
        server.stop()


def _use(monkeypatch: pytest.MonkeyPatch, server: MotoServer, bucket: str, tmp_path: Path) -> None:
    for name, value in {
        **server.environ(),
        "MODELPACK_ARTIFACT_ROOT": f"s3://{bucket}/team",
        "MODELPACK_CACHE_DIR": str(tmp_path / "cache"),
    }.items():
        monkeypatch.setenv(name, value)
    config.reset_tracking_uri()


def _no_secret(message: str, secret: str = CREDENTIALS["AWS_SECRET_ACCESS_KEY"]) -> None:
    assert secret not in message and CREDENTIALS["AWS_ACCESS_KEY_ID"] not in message


def test_a_missing_bucket_names_bucket_and_endpoint_and_registers_nothing(
    tracking_uri: str,
    s3_server: MotoServer,
    make_model_dir: MakeModelDir,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(monkeypatch, s3_server, "no-such-bucket-here", tmp_path)
    with pytest.raises(StoreError) as caught:
        modelpack.register_model(str(make_model_dir()), "m")
    message = caught.value.message
    assert "'no-such-bucket-here'" in message and s3_server.url in message
    assert "does not exist" in message
    _no_secret(message)
    client = Client()
    assert client.search_registered_models() == [] and client.search_model_versions() == []
    staging = client.store.staging_dir  # the bucket is asked before anything is staged
    assert not staging.exists() or list(staging.iterdir()) == []


def test_an_endpoint_that_is_down_fails_clearly_and_keeps_the_registry_whole(
    tracking_uri: str,
    own_server: MotoServer,
    make_model_dir: MakeModelDir,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(monkeypatch, own_server, own_server.create_bucket(), tmp_path)
    modelpack.register_model(str(make_model_dir(payload=b"v1")), "m")
    own_server.stop()
    with pytest.raises(StoreError) as caught:
        modelpack.register_model(str(make_model_dir(payload=b"v2")), "m")
    message = caught.value.message
    assert "cannot be reached" in message and own_server.url in message
    _no_secret(message)
    assert [v.version for v in Client().search_model_versions("name = 'm'")] == [1]


@pytest.fixture
def auth_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoServer]:
    """A moto_server that checks credentials and IAM policies after its first 4 actions
    (enough to create a bucket, a user, its policy and its key)."""
    monkeypatch.setenv("INITIAL_NO_AUTH_ACTION_COUNT", "4")
    server = MotoServer.start()
    monkeypatch.delenv("INITIAL_NO_AUTH_ACTION_COUNT")
    try:
        yield server
    finally:
        server.stop()


def _restricted_user(server: MotoServer, bucket: str, deny: str) -> dict[str, str]:
    """Keys of an IAM user who may do anything with S3 but upload ``deny`` keys."""
    import boto3

    iam = boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    ).client("iam", endpoint_url=server.url)
    iam.create_user(UserName="ci")
    statements = [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/{deny}"},
    ]
    iam.put_user_policy(
        UserName="ci",
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


def test_unknown_credentials_are_access_denied_and_register_nothing(
    tracking_uri: str,
    auth_server: MotoServer,
    make_model_dir: MakeModelDir,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(monkeypatch, auth_server, auth_server.create_bucket(), tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret-value")
    with pytest.raises(StoreError) as caught:
        modelpack.register_model(str(make_model_dir()), "m")
    message = caught.value.message
    assert "access denied" in message and auth_server.url in message
    assert "not-a-real-secret-value" not in message and "AKIAUNKNOWNKEY" not in message
    assert Client().search_model_versions() == []


def test_an_upload_a_bucket_policy_refuses_names_the_key_and_nothing_else(
    auth_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelpack.tracking.artifact_stores.s3 import S3ArtifactStore

    bucket = auth_server.create_bucket()
    keys = _restricted_user(auth_server, bucket, "*model.bin")
    for name, value in {**auth_server.environ(), **keys}.items():
        monkeypatch.setenv(name, value)
    store = S3ArtifactStore(S3Root(bucket, "team"))
    store.put_bytes(b"fine", "run/notes.txt")
    with pytest.raises(StoreError) as caught:
        store.put_bytes(b"weights", "run/model.bin")
    message = caught.value.message
    assert "access denied (AccessDenied)" in message and "'run/model.bin'" in message
    assert f"'{bucket}'" in message and auth_server.url in message
    assert keys["AWS_SECRET_ACCESS_KEY"] not in message and keys["AWS_ACCESS_KEY_ID"] not in message
    assert "S3ArtifactStore('s3://" in repr(store) and keys["AWS_ACCESS_KEY_ID"] not in repr(store)


def test_the_endpoint_dying_mid_upload_leaves_no_version_and_a_retry_registers(
    tracking_uri: str,
    own_server: MotoServer,
    make_model_dir: MakeModelDir,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = own_server.create_bucket()
    _use(monkeypatch, own_server, bucket, tmp_path)
    source = make_model_dir()
    for number in range(60):  # many files: the upload takes a while
        (source / f"part-{number:03d}.bin").write_bytes(b"p" * 1000)
    watcher = own_server.client()

    def kill_once_uploading() -> None:
        while own_server.process.poll() is None:
            try:
                if watcher.list_objects_v2(Bucket=bucket).get("KeyCount", 0) > 0:
                    own_server.process.kill()  # a crash, not a clean shutdown
                    return
            except Exception:
                return
            time.sleep(0.01)

    thread = threading.Thread(target=kill_once_uploading)
    thread.start()
    with pytest.raises(StoreError, match="cannot be reached"):
        modelpack.register_model(str(source), "m")
    thread.join()
    assert Client().search_model_versions() == []  # nothing points at the partial upload

    again = MotoServer.start(port=own_server.port)  # back (moto forgets: a new empty bucket)
    try:
        again.create_bucket(bucket)
        assert modelpack.register_model(str(source), "m").version == 1
    finally:
        again.stop()


def test_a_partly_uploaded_blob_is_completed_by_the_next_registration(
    s3_tracking_uri: str, s3_server: MotoServer, make_model_dir: MakeModelDir
) -> None:
    from modelpack.tracking.resolve import resolve_models_uri
    from modelpack.tracking.snapshots.digest import blob_key, manifest_digest
    from modelpack.tracking.stores.sql.artifacts import artifact_store

    source = make_model_dir(payload=b"weights")
    digest = manifest_digest(source)
    artifacts = artifact_store(Client().store)
    artifacts.put_file(source / "MLmodel", f"{blob_key(digest)}/MLmodel")  # model.bin missing
    modelpack.register_model(str(source), "m")
    assert (resolve_models_uri("models:/m/1")[2] / "model.bin").read_bytes() == b"weights"


_CRASH_AFTER_UPLOAD = """
import os, signal, sys
import modelpack
from modelpack.tracking.stores.sql import registry

real_publish = registry.publish_blob
def publish_then_die(*args, **kwargs):
    real_publish(*args, **kwargs)  # every file is in the bucket, no row written yet
    os.kill(os.getpid(), signal.SIGKILL)
registry.publish_blob = publish_then_die
modelpack.register_model(sys.argv[1], "crashy")
"""


def test_kill_9_between_upload_and_row_leaves_only_orphan_files(
    s3_tracking_uri: str, s3_env: dict[str, str], make_model_dir: MakeModelDir, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from modelpack.tracking.snapshots.digest import blob_key, manifest_digest
    from modelpack.tracking.stores.sql.artifacts import artifact_store

    source = make_model_dir(size=100_000)
    script = tmp_path / "crasher.py"
    script.write_text(_CRASH_AFTER_UPLOAD)
    proc = subprocess.run(
        [sys.executable, str(script), str(source)], env=dict(os.environ), timeout=120
    )
    assert proc.returncode == -signal.SIGKILL
    client = Client()
    assert client.search_model_versions() == []  # no row, so nothing can load half a model
    digest = manifest_digest(source)
    assert artifact_store(client.store).list(blob_key(digest)) != []  # the orphan blob
    assert modelpack.register_model(str(source), "crashy").version == 1  # reuses it
