"""Helpers for the review tests: read forms and items out of the served HTML, sign in."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from flask.testing import FlaskClient

PASSWORD = "mot-de-passe-1"
REVIEWERS = ("anne", "bruno")


@dataclass(frozen=True)
class ReviewDb:
    """A database to review and who may sign in to it."""

    path: Path
    usernames: tuple[str, ...]
    password: str


def copy_of(source: Path, tmp_path: Path) -> ReviewDb:
    """A fresh copy of a prepared database, so each test reviews from the same starting point."""
    path = tmp_path / source.name
    shutil.copy(source, path)
    return ReviewDb(path, REVIEWERS, PASSWORD)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; return the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf": token, "username": username, "password": password})
    assert response.status_code == 302, response.text
    return csrf_of(client.get("/sheets").text)


class _Inputs(HTMLParser):
    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        elif tag == "input" and self.inside and a.get("name") and a.get("type") != "checkbox":
            self.fields[a["name"] or ""] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def form_fields(html: str, form_id: str) -> dict[str, str]:
    """Name -> value of the text and hidden inputs of one form (checkboxes left out)."""
    parser = _Inputs(form_id)
    parser.feed(html)
    return parser.fields


def current_item(html: str) -> int:
    found = re.search(r'id="cell-id">(\d+)<', html)
    assert found, "no item on the page"
    return int(found.group(1))
