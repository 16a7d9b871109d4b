"""The reviewers' web app (Flask): see `app.create_app` and the `review` / `reviewer` commands."""

from sheetscan.review.app import create_app

__all__ = ["create_app"]
