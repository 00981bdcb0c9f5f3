"""Screenshots of the web UI's main pages, for the README: docs/ui-*.png.

Seeds a fresh store (the UI tests' seed), starts ``modelpack ui`` on it and drives
Debian's Chromium with Playwright (``apt-get install chromium``; ``pip install playwright``).

    python scripts/ui_screenshots.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.ui.browser import LAUNCH_ARGS, chromium_path  # noqa: E402
from tests.ui.seed import seed_store  # noqa: E402

DOCS = REPO / "docs"


def main() -> None:
    from playwright.sync_api import sync_playwright

    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seeded = seed_store(root)
        log_path = root / "ui.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "modelpack", "ui", "--backend-store-uri",
                 seeded.store_uri, "--port", "0"], stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            url = ""
            for _ in range(300):
                time.sleep(0.1)
                text = log_path.read_text()
                if "listening on " in text:
                    url = text.split("listening on ")[1].split()[0]
                    break
            if not url:
                raise SystemExit("modelpack ui did not start:\n" + log_path.read_text())
            runs = f"{url}/experiments/{seeded.experiment_id}?size=25&order=metrics.acc+DESC"
            compare = f"{url}/compare?" + "&".join(f"runs={r}" for r in seeded.run_ids[:4])
            shots = [
                ("ui-runs.png", runs, (1280, 720), None),
                ("ui-run.png", f"{url}/runs/{seeded.long_run_id}#charts", (1280, 720), ".chart"),
                ("ui-compare.png", compare, (1280, 900), ".chart"),
                ("ui-version.png", f"{url}/models/iris/versions/1", (1280, 900), None),
                ("ui-runs-phone.png", runs, (390, 780), None),
            ]
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=str(chromium_path()), headless=True, args=LAUNCH_ARGS
                )
                for name, target, (width, height), chart in shots:
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(target)
                    if chart:
                        page.wait_for_function(
                            "[...document.querySelectorAll('.chart')]"
                            ".every(c => c.dataset.drawn === 'yes')"
                        )
                    page.screenshot(path=str(DOCS / name))
                    page.close()
                    print(f"docs/{name}: {(DOCS / name).stat().st_size // 1024} KB")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
