"""Fixtures for the review app: a small synthetic queue with two reviewers, a signed-in test client.

`review_db` is the one place a test database is made. A variant on a database made by ingesting
`samples/` only needs another fixture returning a `ReviewDb` (the browser test takes any).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sheetscan.review import create_app, synthetic
from sheetscan.review.auth import hash_password
from sheetscan.store import Store
from sheetscan.store.review import ReviewStore
from tests.review.helpers import PASSWORD, REVIEWERS, ReviewDb, copy_of, sign_in


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real headless Chromium")


def add_reviewers(path: Path, usernames: tuple[str, ...] = REVIEWERS, password: str = PASSWORD) -> None:
    with Store(path) as store:
        review = ReviewStore(store)
        for name in usernames:
            review.add_reviewer(name, hash_password(password))


@pytest.fixture(scope="session")
def _synthetic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("review") / "synthetic.db"
    with Store(path) as store:
        synthetic.fill(store, pages=3, seed=7)
    add_reviewers(path)
    return path


@pytest.fixture
def review_db(_synthetic_db: Path, tmp_path: Path) -> ReviewDb:
    """A fresh copy of a 3-page synthetic queue, reviewers `anne` and `bruno`."""
    return copy_of(_synthetic_db, tmp_path)


@pytest.fixture
def app(review_db: ReviewDb) -> Flask:
    app = create_app(review_db.path, secret_key=b"test-secret-key-of-32-bytes-long", lease_seconds=300)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def store(review_db: ReviewDb) -> Iterator[ReviewStore]:
    with Store(review_db.path) as s:
        yield ReviewStore(s)


@pytest.fixture
def anne(app: Flask) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, sign_in(client, "anne")


@pytest.fixture
def bruno(app: Flask) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, sign_in(client, "bruno")
