"""Running ``modelpack generate-dockerfile`` / ``build-docker`` from the docker tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from modelpack.cli import cli
from modelpack.serving.envs.virtualenv import CLI_BOOTSTRAP


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def generate(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``modelpack generate-dockerfile`` in its own process: a hang is a failure, not a stall."""
    argv = [sys.executable, "-I", "-c", CLI_BOOTSTRAP, "generate-dockerfile", "--no-lock"]
    return subprocess.run(
        [*argv, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )
