"""The reviewers' web app: factory, sign-in guard, CSRF check, security headers, one error handler.

One `Store` is opened per request (SQLite connections are not shared between the server's threads).
The log holds the method, the route pattern (no ids, no query string), the status and the time: nothing
personal.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

from flask import Flask, Response, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from sheetscan.errors import ReviewError
from sheetscan.review.auth import new_csrf_token, same_token
from sheetscan.review.images import PageCache
from sheetscan.review.labels import ACTION_FR, CSRF_REFUSED, HTTP_FR, KIND_FR, STATE_FR, reason_fr
from sheetscan.review.views import bp
from sheetscan.store import Store
from sheetscan.store.review import ReviewStore

log = logging.getLogger("sheetscan.review")

PUBLIC_ENDPOINTS = {"review.login", "static"}

class CsrfRefused(BadRequest):
    description = CSRF_REFUSED


def create_app(db_path: Path, secret_key: bytes | None = None, lease_seconds: int = 300) -> Flask:
    """The review app on the database at `db_path` (migrated on start)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_bytes(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=1_000_000,
        DB_PATH=Path(db_path),
        LEASE_SECONDS=lease_seconds,
    )
    app.extensions["page_cache"] = PageCache()
    Store(Path(db_path)).close()  # apply migrations once, before any request
    app.register_blueprint(bp)

    @app.before_request
    def open_store_and_guard() -> WerkzeugResponse | None:
        g.started = time.perf_counter()
        g.store = Store(app.config["DB_PATH"])
        g.review = ReviewStore(g.store, lease_seconds=app.config["LEASE_SECONDS"])
        if "csrf" not in session:
            session["csrf"] = new_csrf_token()
        if request.method == "POST" and not same_token(session.get("csrf"), request.form.get("csrf")):
            raise CsrfRefused()
        g.me = None
        reviewer_id = session.get("reviewer_id")
        if isinstance(reviewer_id, int):
            g.me = g.review.reviewer(reviewer_id)
        if g.me is None and request.endpoint not in PUBLIC_ENDPOINTS:
            return redirect(url_for("review.login"))
        return None

    @app.teardown_request
    def close_store(_exc: BaseException | None) -> None:
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.after_request
    def headers_and_log(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'"
        )
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = "no-store"
        rule = request.url_rule.rule if request.url_rule else "?"
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        log.info("%s %s %d %.1f ms", request.method, rule, response.status_code, elapsed)
        return response

    @app.errorhandler(HTTPException)
    @app.errorhandler(ReviewError)
    def error_page(exc: Exception) -> tuple[str, int]:
        if isinstance(exc, ReviewError):
            code, message = 409, exc.message
        else:
            assert isinstance(exc, HTTPException)
            code = exc.code or 500
            custom = exc.description != type(exc).description or isinstance(exc, CsrfRefused)
            message = exc.description if custom and exc.description else HTTP_FR.get(code, f"Erreur {code}.")
        return render_template("error.html", message=message, code=code), code

    @app.context_processor
    def helpers() -> dict[str, object]:
        return {
            "csrf_token": lambda: session.get("csrf", ""),
            "me": g.get("me"),
            "kind_fr": lambda kind: KIND_FR.get(kind, kind),
            "reason_fr": reason_fr,
            "state_fr": lambda state: STATE_FR.get(state, state),
            "action_fr": lambda action: ACTION_FR.get(action, action),
        }

    return app

