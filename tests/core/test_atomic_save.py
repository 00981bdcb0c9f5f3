"""A save killed (SIGKILL, a real subprocess) at any point leaves a model under its name,
and the next save or load repairs what it left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import modelpack
from modelpack.atomic_save import STALE_AFTER_SECONDS, staged_model_dir
from modelpack.errors import AlreadyExists, ModelNotFound
from modelpack.model_dir import finalize, verify_model_dir
from modelpack.uris import resolve_model_uri

# The child saves ``target`` with overwrite=True and stops (prints PAUSED, sleeps) at the
# point named in argv; the parent SIGKILLs it there. Pausing wraps the real os.replace
# and shutil.rmtree, so the files on disk are exactly what a kill at that moment leaves.
CHILD = r"""
import os, shutil, sys, time
from pathlib import Path

target, point, payload, flavor = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
aside_prefix = f".{target.name}.old-"

def pause():
    print("PAUSED", flush=True)
    time.sleep(600)

real_replace, real_rmtree = os.replace, shutil.rmtree

def replace(src, dst):
    real_replace(src, dst)
    if point == "between-renames" and Path(dst).name.startswith(aside_prefix):
        pause()

def rmtree(path, *args, **kwargs):
    if point == "before-cleanup" and Path(path).name.startswith(aside_prefix):
        pause()
    return real_rmtree(path, *args, **kwargs)

os.replace, shutil.rmtree = replace, rmtree

if flavor == "sklearn":
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    import modelpack

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1]) if payload == "up" else np.array([1, 1, 0, 0])
    modelpack.sklearn.save_model(LogisticRegression().fit(X, y), target, overwrite=True)
else:
    from modelpack.model_dir import finalize, staged_model_dir

    with staged_model_dir(target, overwrite=True) as tmp:
        (tmp / "model.bin").write_text(payload)
        if point == "writing":
            pause()
        finalize(tmp, {"flavors": {"python_function": {"loader_module": "x"}}})
print("DONE", flush=True)
"""


def _killed_save(target: Path, point: str, payload: str, flavor: str = "fake") -> None:
    """Run a save of ``payload`` to ``target`` in a subprocess and SIGKILL it at ``point``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target), point, payload, flavor],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "PAUSED", proc.communicate(timeout=60)[1][-2000:]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=60)  # reaped: its pid is dead, not a zombie
    assert proc.returncode == -signal.SIGKILL


def _save(target: Path, payload: str, *, overwrite: bool = True) -> None:
    with staged_model_dir(target, overwrite=overwrite) as tmp:
        (tmp / "model.bin").write_text(payload)
        finalize(tmp, {"flavors": {"python_function": {"loader_module": "x"}}})


def _payload(target: Path) -> str:
    verify_model_dir(target)
    return (target / "model.bin").read_text()


def _leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


def test_killed_while_writing_keeps_the_old_model(tmp_path: Path) -> None:
    target = tmp_path / "m"
    _save(target, "v1")
    _killed_save(target, "writing", "v2")
    assert _payload(target) == "v1"
    assert [name.split("-")[0] for name in _leftovers(target)] == [".m.tmp"]
    _save(target, "v3")  # the writer is dead: its temporary directory goes
    assert _payload(target) == "v3" and _leftovers(target) == []


def test_killed_while_writing_a_new_model_leaves_none(tmp_path: Path) -> None:
    target = tmp_path / "m"
    _killed_save(target, "writing", "v1")
    with pytest.raises(ModelNotFound):
        resolve_model_uri(str(target))
    _save(target, "v2", overwrite=False)
    assert _payload(target) == "v2" and _leftovers(target) == []


@pytest.mark.parametrize("repair", ["load", "verify", "save"])
def test_killed_between_the_renames_the_old_model_comes_back(repair: str, tmp_path: Path) -> None:
    target = tmp_path / "m"
    _save(target, "v1")
    _killed_save(target, "between-renames", "v2")
    assert not target.exists()  # the old model aside, the complete new one not yet in
    assert [name.split("-")[0] for name in _leftovers(target)] == [".m.old", ".m.tmp"]
    if repair == "load":
        assert resolve_model_uri(str(target)) == target.resolve()
    elif repair == "verify":
        verify_model_dir(target)
    else:
        with pytest.raises(AlreadyExists):  # the old model is back, so it is "not empty"
            _save(target, "v3", overwrite=False)
    assert _payload(target) == "v1"
    _save(target, "v4")
    assert _payload(target) == "v4" and _leftovers(target) == []


def test_killed_before_the_old_copy_is_deleted(tmp_path: Path) -> None:
    target = tmp_path / "m"
    _save(target, "v1")
    _killed_save(target, "before-cleanup", "v2")
    assert _payload(target) == "v2"
    assert [name.split("-")[0] for name in _leftovers(target)] == [".m.old"]
    _save(target, "v3")
    assert _payload(target) == "v3" and _leftovers(target) == []


def test_a_real_overwrite_killed_between_renames_still_serves_the_old_model(
    tmp_path: Path,
) -> None:
    from sklearn.linear_model import LogisticRegression

    target = tmp_path / "iris"
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    up = LogisticRegression().fit(X, np.array([0, 0, 1, 1]))
    modelpack.sklearn.save_model(up, target)
    _killed_save(target, "between-renames", "down", flavor="sklearn")
    assert not target.exists()
    assert modelpack.load_model(target).predict(X).tolist() == [0, 0, 1, 1]
    assert [name.split("-")[0] for name in _leftovers(target)] == [".iris.tmp"]
    modelpack.sklearn.save_model(up, target, overwrite=True)  # tidies the dead writer's
    assert _leftovers(target) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_which_temporary_directories_a_save_removes(tmp_path: Path) -> None:
    from modelpack import atomic_save

    target = tmp_path / "m"
    host = atomic_save._host()
    old = time.time() - STALE_AFTER_SECONDS - 60
    dirs = {
        "dead writer here": (f".m.tmp-{host}-{_dead_pid()}-aaaaaaaaaaaa", None),
        "live writer here": (f".m.tmp-{host}-{os.getppid()}-bbbbbbbbbbbb", old),
        "fresh, other host": (".m.tmp-0badc0de-1-cccccccccccc", None),
        "old, other host": (".m.tmp-0badc0de-1-dddddddddddd", old),
        "old, older layout": (".m.tmp-eeeeeeeeeeee", old),
        "another model's": (f".m2.tmp-{host}-{_dead_pid()}-ffffffffffff", old),
    }
    for name, mtime in dirs.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.bin").write_text("partial")
        if mtime is not None:
            os.utime(tmp_path / name, (mtime, mtime))
    _save(target, "v1")
    kept = {label for label, (name, _) in dirs.items() if (tmp_path / name).exists()}
    assert kept == {"live writer here", "fresh, other host", "another model's"}


def test_a_long_model_name_still_fits(tmp_path: Path) -> None:
    target = tmp_path / ("m" * 250)
    _save(target, "v1")
    _save(target, "v2")
    assert _payload(target) == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_overwriting_a_link_to_a_model_leaves_nothing_aside(tmp_path: Path) -> None:
    _save(tmp_path / "real", "v1")
    (tmp_path / "m").symlink_to(tmp_path / "real")
    _save(tmp_path / "m", "v2")
    assert _payload(tmp_path / "m") == "v2" and _payload(tmp_path / "real") == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "real"]
