"""Every command in the README runs as written, in order, in a fresh directory.

The ``bash`` and ``python`` blocks are taken from README.md and run one by one in a
temporary directory that holds a link to ``examples/``, as a new user would run them
from the checkout: the set-up block's quickstart first, then the ten lines, then the
track / serve / score / ship block. Two things differ from a user's terminal, on purpose:

- ``modelpack serve`` is started in the background and stopped by the test, and it
  listens on a free port instead of 5000 (``--port 5000`` and ``localhost:5000`` in the
  README are replaced by that port), so parallel test runs do not collide;
- ``pip install ...`` and ``python -m pytest`` are not run (this test is part of that
  suite, and the environment running it is the installed one); ``SKIPPED`` pins them, so
  a new README command is either run here or listed there on purpose.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from serve_process import serving

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {"pip install -e .", 'pip install -e ".[test]"', "python -m pytest"}
_BLOCK = re.compile(r"^```(bash|python)\n(.*?)^```", re.DOTALL | re.MULTILINE)
_SERVE = ("modelpack serve ", "modelpack models serve ")


def readme_blocks() -> list[tuple[str, str]]:
    """``(language, text)`` of every bash and python block, in README order."""
    return _BLOCK.findall((ROOT / "README.md").read_text())


def bash_commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, a line whose quotes are still
    open joined with the next (as bash reads it), ``a && b`` split, comments and blank
    lines dropped (bash itself strips a comment after a command)."""
    commands: list[str] = []
    pending = ""
    for line in re.sub(r"\\\n\s*", " ", block).splitlines():
        pending = f"{pending}\n{line}" if pending else line
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on on the next line
            continue
        if pending.strip() and not pending.lstrip().startswith("#"):
            commands += [part.strip() for part in pending.split(" && ")]
        pending = ""
    assert not pending, f"unbalanced quotes in a README command: {pending[:60]}"
    return commands


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_readme_has_the_blocks_this_test_expects() -> None:
    blocks = readme_blocks()
    assert [lang for lang, _ in blocks] == ["bash", "python", "bash", "python", "bash"]
    commands = [c for lang, text in blocks if lang == "bash" for c in bash_commands(text)]
    assert {c for c in commands if c.startswith("pip ") or "pytest" in c} == SKIPPED
    assert sum(c.startswith(_SERVE) for c in commands) == 1


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPACK_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    port = free_port()
    outputs: dict[str, str] = {}
    with ExitStack() as background:
        for index, (lang, text) in enumerate(readme_blocks()):
            if lang == "python":
                script = tmp_path / f"readme_block_{index}.py"
                script.write_text(text)
                outputs[script.name] = run(f"python {script.name}", tmp_path, env)
                continue
            for command in bash_commands(text):
                if command in SKIPPED:
                    continue
                if command.startswith(_SERVE):
                    assert "--port 5000" in command
                    command = command.replace("--port 5000", f"--port {port}")
                    argv = ["bash", "-c", f"exec {command}"]
                    background.enter_context(serving(argv, cwd=tmp_path, env=env))
                    continue
                command = command.replace("localhost:5000", f"localhost:{port}")
                outputs[command] = run(command, tmp_path, env)

    curl = next(out for command, out in outputs.items() if command.startswith("curl "))
    assert curl.startswith('{"predictions": ['), curl
    assert any("iris-classifier" in out for out in outputs.values())
    assert pq.read_metadata(tmp_path / "scored.parquet").num_rows == 150
    assert (tmp_path / "build" / "iris" / "Dockerfile").is_file()
    assert (tmp_path / "iris" / "MLmodel").is_file()  # the ten lines saved their model


def run(command: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"README command failed: {command}\n{proc.stderr[-3000:]}"
    return proc.stdout
