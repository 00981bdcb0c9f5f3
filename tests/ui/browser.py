"""Debian's Chromium for the browser tests, installed with apt-get when missing.

Playwright drives it through ``executable_path``: Playwright's own browser download
needs the internet. A missing browser that cannot be installed FAILS the tests that
need it (never a skip), saying how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _found() -> Path | None:
    return next((Path(p) for p in CANDIDATES if Path(p).exists()), None)


def chromium_path() -> Path:
    """The Chromium binary, after ``apt-get install chromium`` if it was missing."""
    found = _found()
    if found is not None:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError(
            "the UI tests need Chromium: install the Debian package 'chromium' "
            "(sudo apt-get install -y chromium) and run the tests again"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
    )
    found = _found()
    if found is None:
        raise RuntimeError("Chromium is still missing after apt-get install chromium")
    return found


#: flags for a headless Chromium in a container (root has no user namespace sandbox)
LAUNCH_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
