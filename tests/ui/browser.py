"""Debian's Chromium for the browser tests, installed with apt-get when missing.

Playwright drives it through ``executable_path``: Playwright's own browser download
needs the internet. A missing browser that cannot be installed FAILS the tests that
need it (never a skip), saying how to install it.
"""

from __future__ import annotations

from pathlib import Path

from tests.debian import apt_install

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _found() -> Path | None:
    return next((Path(p) for p in CANDIDATES if Path(p).exists()), None)


def chromium_path() -> Path:
    """The Chromium binary, after ``apt-get install chromium`` if it was missing."""
    found = _found()
    if found is not None:
        return found
    apt_install("chromium", "the UI tests")
    found = _found()
    if found is None:
        raise RuntimeError("Chromium is still missing after apt-get install chromium")
    return found


#: flags for a headless Chromium in a container (root has no user namespace sandbox)
LAUNCH_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
