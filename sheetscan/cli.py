"""The command line: the only place that prints errors and exits. Messages for volunteers are in French."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click

from sheetscan.config import load_settings
from sheetscan.errors import SheetscanError
from sheetscan.learn import learn_command, show_command
from sheetscan.records import REASON_FR, ReviewReason
from sheetscan.review.commands import review_command, reviewer_group
from sheetscan.template import TEMPLATES_DIR, installed_templates, load_template

DB_OPTION = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default="sheetscan.db",
    envvar="SHEETSCAN_DB", show_default=True, help="Base de données SQLite.",
)
CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Réglages (TOML) ; sans eux, les réglages par défaut.",
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SheetscanError as exc:
            click.echo(f"Erreur : {exc.message}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group)
@click.version_option(package_name="sheetscan")
def cli() -> None:
    """sheetscan : des feuilles de pétition numérisées aux signataires validés."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# -- templates ------------------------------------------------------------------------------------------
@cli.group(cls=_Group)
def template() -> None:
    """Gabarits de feuille : vérifier, imprimer."""


@template.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def template_check(file: Path) -> None:
    """Vérifie un gabarit et signale chaque erreur par son chemin."""
    t = load_template(file)
    click.echo(f"{file} : gabarit valide ({t.ref}, {t.grid.rows} rangées, {len(t.read_columns)} champs lus)")


@template.command("render")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PDF ou PNG.")
@click.option("--dpi", default=300, show_default=True)
def template_render(file: Path, out: Path, dpi: int) -> None:
    """Imprime la feuille vierge décrite par le gabarit, en taille réelle."""
    from sheetscan.render import render_blank, save_pdf

    image = render_blank(load_template(file), dpi)
    if out.suffix.lower() == ".pdf":
        save_pdf([image], out, dpi)
    else:
        image.save(out)
    click.echo(f"Feuille vierge écrite : {out}")


# -- test bench ------------------------------------------------------------------------------------------
@cli.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--sheets", default=10, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--fonts", default=None, help="Polices à utiliser, séparées par des virgules (défaut : celles du banc).")
@click.option("--template", "template_file", type=click.Path(dir_okay=False, path_type=Path),
              default=TEMPLATES_DIR / "retour-hernandez-romero.json", show_default=True)
@click.option("--crossing", default=None, metavar="PART,MM[,CÔTÉ]",
              help="Part des champs qui dépassent une ligne de la grille, de combien de mm au plus, et seulement "
                   "quelle ligne (bottom, top ou right). Défaut : 0.1,0.9.")
def synth(out: Path, sheets: int, seed: int, fonts: str | None, template_file: Path, crossing: str | None) -> None:
    """Fabrique des feuilles remplies et numérisées (banc d'essai), avec leur vérité terrain."""
    from sheetscan.synth import SLIGHT_CROSSING, Crossing, generate

    try:
        how = Crossing.parse(crossing) if crossing else SLIGHT_CROSSING
    except ValueError:
        raise click.BadParameter(f"« {crossing} » : attendu PART,MM ou PART,MM,CÔTÉ (ex. 0.3,1.8)",
                                 param_hint="--crossing") from None
    out.mkdir(parents=True, exist_ok=True)
    chosen = fonts.split(",") if fonts else None
    paths = generate(out, sheets, seed, load_template(template_file), fonts=chosen, crossing=how)
    click.echo(f"{len(paths)} feuilles écrites dans {out}")


# -- ingest ----------------------------------------------------------------------------------------------
@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@DB_OPTION
@CONFIG_OPTION
def ingest(paths: tuple[Path, ...], db_path: Path, config_path: Path | None) -> None:
    """Lit les feuilles numérisées (PDF, TIFF, PNG, JPEG ou dossiers) et les enregistre."""
    from sheetscan.pipeline import PageOutcome, expand
    from sheetscan.pipeline import ingest as run_ingest
    from sheetscan.stages.engines import make_engine
    from sheetscan.store import Store

    settings = load_settings(config_path)
    templates = installed_templates()
    engine = make_engine(settings.engine)
    files = expand(paths)
    click.echo(f"Lot : {len(files)} fichier(s) ; gabarits : {', '.join(t.ref for t in templates)}")
    started = time.perf_counter()
    seen = 0

    def progress(o: PageOutcome) -> None:
        nonlocal seen
        seen += 1
        where = f"{o.source}" + (f" p.{o.page}" if o.page else "")
        if o.status == "ok":
            warn = " — ATTENTION : grille ou texte imprimé douteux, à vérifier" if o.doubtful else ""
            click.echo(f"[{seen}] {where} : {o.signers} signataire(s), {o.pending} cellule(s) à réviser{warn}")
        elif o.status == "skipped":
            click.echo(f"[{seen}] {where} : déjà importée, ignorée")
        else:
            click.echo(f"[{seen}] {where} : ÉCHEC — {o.message}", err=True)

    with Store(db_path) as store:
        summary = run_ingest(files, store, templates, engine, settings, on_page=progress)
    elapsed = time.perf_counter() - started
    ok, skipped, failed = summary.count("ok"), summary.count("skipped"), summary.count("failed")
    per_page = elapsed / ok if ok else 0.0
    click.echo(
        f"Terminé en {elapsed:.1f} s : {ok} page(s) lue(s) ({per_page:.2f} s/page), "
        f"{skipped} déjà importée(s), {failed} en échec."
    )
    if failed:
        click.echo("Des pages ont échoué : voir les lignes ÉCHEC ci-dessus ; les autres sont enregistrées.", err=True)
        sys.exit(1)


@cli.command()
@DB_OPTION
def queue(db_path: Path) -> None:
    """Résume ce qui attend une révision."""
    from sheetscan.store import Store

    with Store(db_path) as store:
        counts = store.counts()
        summary = store.queue_summary()
    click.echo(
        f"{counts['pages']} page(s), {counts['signer_rows']} rangée(s) remplie(s), "
        f"{counts['failures']} échec(s) de lecture enregistrés"
    )
    if not summary:
        click.echo("File de révision vide.")
        return
    click.echo(f"À réviser : {counts['pending']} cellule(s)")
    for item in summary:
        reason = REASON_FR.get(ReviewReason(item.reason), item.reason) if item.reason else "?"
        click.echo(f"  {item.kind:<12} {reason:<32} {item.count:>6}")


@cli.command()
@DB_OPTION
@CONFIG_OPTION
def reroute(db_path: Path, config_path: Path | None) -> None:
    """Réapplique les seuils de révision (réglages actuels) aux cellules que personne n'a encore révisées."""
    from sheetscan.store import Store
    from sheetscan.store.review import ReviewStore

    settings = load_settings(config_path)
    with Store(db_path) as store:
        moved = ReviewStore(store).reroute(settings)
    click.echo(
        f"{moved.queued} cellule(s) envoyée(s) en révision, {moved.accepted} acceptée(s) sans révision ; "
        "les cellules déjà révisées ne changent pas."
    )


@cli.command()
@DB_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--delimiter", default=";", show_default=True, help="Séparateur CSV (« ; » pour Excel en français).")
@click.option("--all", "include_pending", is_flag=True, help="Inclure les rangées encore en révision.")
def export(db_path: Path, out: Path, fmt: str, delimiter: str, include_pending: bool) -> None:
    """Exporte les signataires acceptés (CSV pour Excel, ou JSON lines)."""
    from sheetscan.export import export_file
    from sheetscan.store import Store

    with Store(db_path) as store:
        stats = export_file(store.signer_rows(), out, fmt, delimiter, include_pending)
    click.echo(f"{stats.written} signataire(s) exporté(s) dans {out}")
    if stats.held_back:
        click.echo(f"{stats.held_back} rangée(s) retenue(s) : encore en révision")


@cli.command("eval")
@DB_OPTION
@click.option("--truth", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Dossier de vérité terrain (fichiers JSON du banc d'essai).")
@click.option("--reviews", is_flag=True,
              help="Mesurer sur les contrôles au hasard déjà révisés, sans vérité terrain.")
@CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True)
@click.option("--tradeoff", is_flag=True, help="Afficher, par champ, acceptées vs erreurs selon le seuil.")
@click.option("--target", default=0.005, show_default=True, help="Erreur résiduelle visée pour le seuil calibré.")
def evaluate_command(db_path: Path, truth: Path | None, reviews: bool, config_path: Path | None, as_json: bool,
                     tradeoff: bool, target: float) -> None:
    """Compare les lectures à la vérité terrain (--truth) ou aux contrôles au hasard révisés (--reviews)."""
    from sheetscan.evaluate import evaluate, format_report, format_sample, format_tradeoff, review_sample
    from sheetscan.store import Store

    if reviews == (truth is not None):
        raise click.UsageError("indiquez --truth DOSSIER ou --reviews (l'un des deux).")
    if truth is None:
        if as_json or tradeoff:
            raise click.UsageError("--json et --tradeoff ne valent qu'avec --truth.")
        settings = load_settings(config_path)
        with Store(db_path) as store:
            sample = review_sample(store, settings.spot_check)
        thresholds = {str(kind): t for kind, t in settings.review_threshold.items()}
        click.echo(format_sample(sample, thresholds, target))
        return
    with Store(db_path) as store:
        report = evaluate(store, truth)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=1, ensure_ascii=False))
        return
    click.echo(format_report(report))
    if tradeoff:
        click.echo("")
        click.echo(format_tradeoff(report, target))


template.add_command(learn_command)
template.add_command(show_command)
cli.add_command(review_command)
cli.add_command(reviewer_group)


def main() -> None:
    cli(prog_name="sheetscan")
