"""Server time per review action on a queue of 10,000 cells, and keystrokes per reviewed cell.

    .venv/bin/python benchmarks/review_bench.py [--cells 10000] [--actions 400]

Times are measured around Flask test-client calls (the whole request: SQL, lease, template, response),
so they are an upper bound on the server's own time. Target (issue 5): median under 30 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sheetscan.review import create_app, synthetic
from sheetscan.review.auth import hash_password
from sheetscan.store import Store
from sheetscan.store.review import ReviewStore

PASSWORD = "banc-d-essai-1"
# What a reviewer types to correct a cell, per kind (then Enter).
TYPED = {
    "name": "ZOÉ GAGNON", "postal_code": "H3Z2Y7", "birth_year": "1975", "email": "zoe@exemple.ca",
    "phone": "5145550199", "signature": "oui", "text": "COMITÉ",
}


def build(path: Path, cells: int) -> int:
    """A database with at least `cells` pending cells (10 distinct synthetic pages, stored many times)."""
    pages = [synthetic.synthetic_page("banc.pdf", n, seed=3, pending_share=1.0) for n in range(1, 11)]
    with Store(path) as store:
        batch = store.begin_batch()
        copy = 0
        while store.counts()["pending"] < cells:
            page = pages[copy % len(pages)]
            store.save_page(batch, page.model_copy(update={"content_hash": f"banc:{copy}", "page": copy + 1}))
            copy += 1
        ReviewStore(store).add_reviewer("banc", hash_password(PASSWORD))
        return int(store.counts()["pending"])


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def timed(samples: list[float], call: Callable[..., TestResponse], *args: object, **kwargs: object) -> TestResponse:
    start = time.perf_counter()
    result = call(*args, **kwargs)
    samples.append((time.perf_counter() - start) * 1000)
    return result


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return f"{name:<22} n={len(samples):<5} median {statistics.median(samples):6.1f} ms   p95 {p95:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--actions", type=int, default=400)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        started = time.perf_counter()
        queued = build(db, args.cells)
        print(f"queue: {queued} pending cells (built in {time.perf_counter() - started:.1f} s)")
        app = create_app(db, secret_key=b"bench-secret-key-of-32-bytes-ok!")
        client: FlaskClient = app.test_client()
        client.post("/login", data={"csrf": csrf(client.get("/login").text), "username": "banc", "password": PASSWORD})
        token = csrf(client.get("/sheets").text)  # a new token comes with the signed-in session

        next_ms: list[float] = []
        save_ms: list[float] = []
        image_ms: list[float] = []
        strip_ms: list[float] = []
        keys: dict[str, list[int]] = {"confirmed": [], "corrected": [], "blank/illegible": []}
        with Store(db) as store:
            review = ReviewStore(store)
            for i in range(args.actions):
                html = timed(next_ms, client.get, "/review").text
                cell_id = int(re.search(r'id="cell-id">(\d+)<', html).group(1))  # type: ignore[union-attr]
                timed(image_ms, client.get, f"/cells/{cell_id}.png")
                timed(strip_ms, client.get, f"/cells/{cell_id}/row.jpg")
                cell = review.cell(cell_id)
                assert cell is not None
                data = {"csrf": token, "version": str(cell.version), "action": "accept", "value": cell.value or ""}
                if cell.value is not None and i % 3:
                    keys["confirmed"].append(1)  # Enter
                elif cell.value is None and i % 3:
                    data["value"] = TYPED[cell.kind]
                    keys["corrected"].append(len(TYPED[cell.kind]) + 1)  # the characters, then Enter
                else:
                    data["action"] = "illegible"
                    keys["blank/illegible"].append(1)  # Ctrl+I (one chord)
                response = timed(save_ms, client.post, f"/review/{cell_id}", data=data)
                assert response.status_code == 302, response.text

    print(summary("next item (GET)", next_ms))
    print(summary("save (POST)", save_ms))
    print(summary("cell image", image_ms))
    print(summary("row strip", strip_ms))
    for outcome, counts in keys.items():
        if counts:
            print(f"keystrokes per {outcome:<16} {statistics.mean(counts):.2f}  (n={len(counts)})")


if __name__ == "__main__":
    main()
