"""Debian packages the tests need (PostgreSQL, Chromium), installed with apt-get when
missing. Where that is impossible (no apt-get, not root) the tests that need the
package FAIL saying how to install it; they never skip."""

from __future__ import annotations

import os
import shutil
import subprocess


def apt_install(package: str, needed_by: str) -> None:
    """``apt-get install package``, or ``RuntimeError`` naming ``needed_by`` and the command."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError(
            f"{needed_by} need the Debian package '{package}': install it "
            f"(sudo apt-get install -y {package}) and run the tests again"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
        check=True,
        env=env,
    )
