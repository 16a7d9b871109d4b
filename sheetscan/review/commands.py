"""Click commands registered by sheetscan.cli: `review` (serve the app) and `reviewer add`.

    cli.add_command(review_command)   # sheetscan review --db FILE [--host H] [--port P]
    cli.add_command(reviewer_group)   # sheetscan reviewer add NAME --db FILE
"""

from __future__ import annotations

import logging
from pathlib import Path

import click
from werkzeug.serving import WSGIRequestHandler, run_simple

from sheetscan.review.app import create_app
from sheetscan.review.auth import MIN_PASSWORD_LENGTH, hash_password
from sheetscan.store import Store
from sheetscan.store.review import ReviewStore

DB_OPTION = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default="sheetscan.db",
    envvar="SHEETSCAN_DB", show_default=True, help="Base de données SQLite."
)


class QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its per-request line (which would carry query strings)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@click.command("review")
@DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Adresse d'écoute ; 0.0.0.0 pour servir le réseau du bureau.")
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--lease", "lease_seconds", default=300, show_default=True, type=int,
              help="Secondes avant qu'une cellule abandonnée revienne dans la file.")
def review_command(db_path: Path, host: str, port: int, lease_seconds: int) -> None:
    """Ouvrir l'application de révision dans le navigateur."""
    if not db_path.exists():
        raise click.ClickException(f"{db_path} : base introuvable")
    app = create_app(db_path, lease_seconds=lease_seconds)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    click.echo(f"Révision ouverte sur http://{shown_host}:{port} — Ctrl+C pour arrêter")
    run_simple(host, port, app, threaded=True, request_handler=QuietHandler)


@click.group("reviewer")
def reviewer_group() -> None:
    """Gérer les comptes des réviseurs."""


@reviewer_group.command("add")
@click.argument("username")
@DB_OPTION
def reviewer_add(username: str, db_path: Path) -> None:
    """Créer le compte USERNAME (le mot de passe est demandé deux fois)."""
    username = username.strip()
    if not username:
        raise click.ClickException("nom d'utilisateur vide")
    password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt="Encore une fois")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"mot de passe trop court (au moins {MIN_PASSWORD_LENGTH} caractères)")
    with Store(db_path) as store:
        ReviewStore(store).add_reviewer(username, hash_password(password))
    click.echo(f"Compte « {username} » créé.")
