"""Make docs/review.png: the review-by-field page on a synthetic queue, in Debian's headless Chromium.

.venv/bin/python scripts/review_screenshot.py [--out docs/review.png] [--kind postal_code]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from sheetscan.review import create_app, synthetic
from sheetscan.review.auth import hash_password
from sheetscan.review.commands import QuietHandler
from sheetscan.store import Store
from sheetscan.store.review import ReviewStore

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "capture-d-ecran"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/review.png"))
    parser.add_argument("--kind", default="postal_code")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.db"
        with Store(db) as store:
            synthetic.fill(store, pages=3, seed=7)
            ReviewStore(store).add_reviewer("benevole", hash_password(PASSWORD))
        server = make_server("127.0.0.1", 0, create_app(db), threaded=True, request_handler=QuietHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(url + "/login")
                page.fill("#username", "benevole")
                page.fill("#password", PASSWORD)
                with page.expect_navigation():
                    page.press("#password", "Enter")
                page.goto(f"{url}/review?kind={args.kind}")
                page.wait_for_load_state("networkidle")
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
                browser.close()
        finally:
            server.shutdown()
    print(f"{args.out}: {args.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
