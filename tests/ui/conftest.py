"""UI test fixtures: a seeded store and a real ``modelpack ui`` process per module; one
headless Chromium (Debian's, driven by Playwright) per session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.serve_process import serving
from tests.ui.browser import LAUNCH_ARGS, chromium_path
from tests.ui.seed import Seeded, seed_store


@dataclass(frozen=True)
class UiServer:
    url: str
    seeded: Seeded


@pytest.fixture(scope="session")
def seeded_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded]:
    root = tmp_path_factory.mktemp("ui-store")
    return root, seed_store(root)


@pytest.fixture(scope="module")
def ui_server(seeded_root: tuple[Path, Seeded]) -> Iterator[UiServer]:
    root, seeded = seeded_root
    argv = [sys.executable, "-m", "modelpack", "ui", "--backend-store-uri", seeded.store_uri,
            "--host", "127.0.0.1", "--port", "0"]  # fmt: skip
    with serving(argv, cwd=root) as url:
        yield UiServer(url, seeded)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=LAUNCH_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    # a shared 2-core machine under load can take longer than Playwright's 30 s default to
    # answer a form post and redraw; a real failure still fails, only later
    tab.set_default_timeout(90_000)
    yield tab
    context.close()
