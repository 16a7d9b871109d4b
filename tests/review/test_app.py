"""The review app through Flask's test client, on a temporary synthetic database."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from sheetscan.review.commands import reviewer_group
from sheetscan.store import Store
from sheetscan.store.db import StoredCell
from sheetscan.store.review import ReviewStore
from tests.review.helpers import PASSWORD, ReviewDb, csrf_of, current_item, form_fields, sign_in

Client = tuple[FlaskClient, str]


def cells(db: ReviewDb) -> dict[int, StoredCell]:
    with Store(db.path) as store:
        return {c.id: c for c in store.cells()}


def pending(db: ReviewDb, kind: str | None = None, valid: bool | None = None) -> list[StoredCell]:
    found = [c for c in cells(db).values() if c.review_state == "pending" and (kind is None or c.kind == kind)]
    if valid is not None:
        found = [c for c in found if (c.value is not None) == valid]
    return found


def save(client: Client, cell: StoredCell, action: str = "accept", value: str = "", **extra: str) -> object:
    http, token = client
    data = {"csrf": token, "version": str(cell.version), "action": action, "value": value, **extra}
    return http.post(f"/review/{cell.id}", data=data)


# -- sign-in and CSRF -------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/review", "/cells/1.png", "/cells/1/row.jpg", "/pages/1.jpg", "/sheets/1", "/audit"])
def test_everything_needs_sign_in(app: Flask, url: str) -> None:
    response = app.test_client().get(url)
    assert response.status_code == 302
    assert response.location.endswith("/login")
    assert not response.data.startswith(b"\x89PNG")


def test_wrong_password_is_refused_in_french(app: Flask) -> None:
    client = app.test_client()
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf": token, "username": "anne", "password": "faux"})
    assert response.status_code == 401
    assert "mot de passe incorrect" in response.text
    assert client.get("/review").status_code == 302


def test_signed_in_reviewer_gets_images_by_id(anne: Client) -> None:
    http, _ = anne
    png = http.get("/cells/1.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    strip = http.get("/cells/1/row.jpg")
    assert strip.status_code == 200 and strip.mimetype == "image/jpeg"
    assert http.get("/cells/999999.png").status_code == 404


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_post_without_the_session_csrf_token_is_refused(review_db: ReviewDb, anne: Client, token: str | None) -> None:
    http, _ = anne
    cell = pending(review_db, valid=True)[0]
    data = {"version": str(cell.version), "action": "accept", "value": cell.value or ""}
    if token is not None:
        data["csrf"] = token
    response = http.post(f"/review/{cell.id}", data=data)
    assert response.status_code == 400
    assert "jeton de sécurité" in response.text
    assert cells(review_db)[cell.id].review_state == "pending"


def test_login_form_needs_csrf_too(app: Flask) -> None:
    response = app.test_client().post("/login", data={"username": "anne", "password": PASSWORD})
    assert response.status_code == 400


def test_csrf_token_of_another_session_is_refused(review_db: ReviewDb, anne: Client, bruno: Client) -> None:
    cell = pending(review_db, valid=True)[0]
    response = save((anne[0], bruno[1]), cell, value=cell.value or "")
    assert response.status_code == 400  # type: ignore[attr-defined]


# -- review by field --------------------------------------------------------------------------------------
def test_item_page_shows_reading_selected_reason_and_keys(anne: Client) -> None:
    http, _ = anne
    html = http.get("/review").text
    item = current_item(html)
    assert f'src="/cells/{item}.png"' in html and f'src="/cells/{item}/row.jpg"' in html
    assert 'id="value"' in html and "autofocus" in html
    for words in ("Entrée", "Ctrl+B", "Ctrl+I", "Ctrl+S", "Reste à réviser"):
        assert words in html
    assert any(reason in html for reason in ("lecture incertaine", "valeur invalide", "champ obligatoire vide"))
    assert 'id="upcoming"' in html  # the next item's images are preloaded


def test_enter_confirms_the_reading(review_db: ReviewDb, anne: Client) -> None:
    cell = pending(review_db, kind="birth_year", valid=True)[0]
    response = save(anne, cell, value=cell.value or "")
    assert response.status_code == 302  # type: ignore[attr-defined]
    after = cells(review_db)[cell.id]
    assert (after.review_state, after.value, after.version) == ("confirmed", cell.value, cell.version + 1)


def test_typed_value_is_normalised_and_marked_corrected(review_db: ReviewDb, anne: Client, store: ReviewStore) -> None:
    cell = pending(review_db, kind="postal_code")[0]
    save(anne, cell, value="h2x1y4")
    after = cells(review_db)[cell.id]
    assert (after.review_state, after.value) == ("corrected", "H2X 1Y4")
    entry = store.audit(cell_id=cell.id)[0]
    assert (entry.username, entry.action) == ("anne", "correct")
    assert (entry.old_state, entry.new_state) == ("pending", "corrected")
    assert (entry.old_value, entry.new_value, entry.override) == (cell.value, "H2X 1Y4", False)


def test_invalid_value_is_refused_in_french_unless_overridden(
    review_db: ReviewDb, anne: Client, store: ReviewStore
) -> None:
    cell = pending(review_db, kind="postal_code")[0]
    refused = save(anne, cell, value="H2X")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "code postal canadien attendu" in refused.text  # type: ignore[attr-defined]
    assert 'name="override"' in refused.text  # type: ignore[attr-defined]
    assert cells(review_db)[cell.id].review_state == "pending"
    assert store.audit(cell_id=cell.id) == []

    save(anne, cell, value="H2X", override="1")
    after = cells(review_db)[cell.id]
    assert (after.review_state, after.value) == ("corrected", "H2X")
    entry = store.audit(cell_id=cell.id)[0]
    assert entry.override and entry.override_reason == "code postal canadien attendu (A1A 1A1)"


@pytest.mark.parametrize(("action", "state"), [("blank", "blank"), ("illegible", "illegible")])
def test_blank_and_illegible_keys(review_db: ReviewDb, anne: Client, action: str, state: str) -> None:
    cell = pending(review_db, valid=True)[0]
    save(anne, cell, action=action, value="ignored")
    after = cells(review_db)[cell.id]
    assert (after.review_state, after.value) == (state, None)


def test_signature_is_typed_as_oui_non(review_db: ReviewDb, anne: Client) -> None:
    cell = pending(review_db, kind="signature")[0]
    save(anne, cell, value="non")
    assert cells(review_db)[cell.id].value == "unsigned"


def test_skip_releases_the_lease_and_moves_on(review_db: ReviewDb, anne: Client, store: ReviewStore) -> None:
    http, token = anne
    first = current_item(http.get("/review").text)
    version = cells(review_db)[first].version
    http.post(f"/review/{first}", data={"csrf": token, "version": str(version), "action": "skip"})
    assert current_item(http.get("/review").text) != first
    assert store.lease_holder(first) is None
    assert cells(review_db)[first].review_state == "pending"


def test_reload_shows_the_same_item(anne: Client) -> None:
    http, _ = anne
    assert current_item(http.get("/review").text) == current_item(http.get("/review").text)


def test_kind_filter_walks_one_kind(review_db: ReviewDb, anne: Client) -> None:
    http, _ = anne
    postal = {c.id for c in pending(review_db, kind="postal_code")}
    seen = []
    for _ in range(len(postal)):
        html = http.get("/review?kind=postal_code").text
        item = current_item(html)
        seen.append(item)
        save(anne, cells(review_db)[item], action="illegible")
    assert set(seen) == postal
    assert "Plus rien à réviser" in http.get("/review?kind=postal_code").text
    assert http.get("/review?kind=shoe_size").status_code == 400


def test_progress_counts_remaining_per_kind(review_db: ReviewDb, anne: Client) -> None:
    http, _ = anne
    html = http.get("/review").text
    count = len(pending(review_db, kind="email"))
    assert f'kind=email" class="">Courriel</a>\n      <span class="count">{count}</span>' in html


# -- several reviewers ----------------------------------------------------------------------------------
def test_two_reviewers_never_get_the_same_item(review_db: ReviewDb, anne: Client, bruno: Client) -> None:
    seen: dict[str, list[int]] = {"anne": [], "bruno": []}
    for _ in range(12):
        for name, client in (("anne", anne), ("bruno", bruno)):
            item = current_item(client[0].get("/review").text)
            seen[name].append(item)
            save(client, cells(review_db)[item], action="blank")
    assert not set(seen["anne"]) & set(seen["bruno"])
    assert len(set(seen["anne"])) == 12 and len(set(seen["bruno"])) == 12


def test_a_lease_expires_when_a_reviewer_walks_away(review_db: ReviewDb) -> None:
    now = [1000.0]
    with Store(review_db.path) as s:
        review = ReviewStore(s, lease_seconds=300, clock=lambda: now[0])
        anne_id = review.reviewer_by_name("anne").id  # type: ignore[union-attr]
        bruno_id = review.reviewer_by_name("bruno").id  # type: ignore[union-attr]
        held = [c.id for c in review.claim(anne_id, want=2)]
        assert not {c.id for c in review.claim(bruno_id, want=2)} & set(held)
        now[0] += 299
        bruno_held = [c.id for c in review.claim(bruno_id, want=2)]
        assert not set(bruno_held) & set(held)
        now[0] += 2  # anne's leases are 301 s old; bruno's were renewed by his last claim
        for cell_id in bruno_held:
            review.release(bruno_id, cell_id)
        assert [c.id for c in review.claim(bruno_id, want=2)] == held


def test_save_refused_while_another_reviewer_holds_the_item(
    review_db: ReviewDb, anne: Client, bruno: Client
) -> None:
    item = current_item(anne[0].get("/review").text)
    cell = cells(review_db)[item]
    response = save(bruno, cell, action="blank")
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert "en cours de révision par une autre personne" in bruno[0].get("/review").text
    assert cells(review_db)[item].review_state == "pending"


def test_stale_save_is_refused_and_never_overwrites(review_db: ReviewDb, anne: Client, store: ReviewStore) -> None:
    cell = pending(review_db, kind="birth_year", valid=True)[0]
    save(anne, cell, value="1970")  # version 1 -> 2
    save(anne, cell, value="1980")  # still says version 1
    after = cells(review_db)[cell.id]
    assert (after.value, after.version) == ("1970", cell.version + 1)
    assert "modifié cette saisie entre-temps" in anne[0].get("/review").text
    assert len(store.audit(cell_id=cell.id)) == 1


# -- review by sheet --------------------------------------------------------------------------------------
def test_sheet_page_lists_fifteen_rows(anne: Client) -> None:
    http, _ = anne
    html = http.get("/sheets/1").text
    assert html.count('data-row="') == 15
    assert 'src="/pages/1.jpg"' in html
    assert http.get("/pages/1.jpg").mimetype == "image/jpeg"


def test_sheet_save_changes_only_what_was_edited(review_db: ReviewDb, anne: Client, store: ReviewStore) -> None:
    http, _ = anne
    before = cells(review_db)
    fields = form_fields(http.get("/sheets/1").text, "sheet-form")
    row2 = [c for c in before.values() if c.page_id == 1 and c.row == 2]
    name = next(c for c in row2 if c.field == "name")
    phone = next(c for c in row2 if c.field == "phone")
    fields[f"c{name.id}"] = "Zoé  L'Heureux"
    fields[f"c{phone.id}"] = ""  # a crossed-out phone number
    response = http.post("/sheets/1", data=fields)  # confirm_pending unticked
    assert response.status_code == 302, response.text
    after = cells(review_db)
    changed = {i for i in after if after[i] != before[i]}
    assert changed == {name.id, phone.id}
    assert (after[name.id].value, after[name.id].review_state) == ("ZOÉ L'HEUREUX", "corrected")
    assert (after[phone.id].value, after[phone.id].review_state) == (None, "blank")
    assert {e.cell_id for e in store.audit()} == {name.id, phone.id}


def test_sheet_with_an_invalid_value_saves_nothing(review_db: ReviewDb, anne: Client) -> None:
    http, _ = anne
    before = cells(review_db)
    fields = form_fields(http.get("/sheets/1").text, "sheet-form")
    row1 = {c.field: c for c in before.values() if c.page_id == 1 and c.row == 1}
    fields[f"c{row1['name'].id}"] = "ROBERT"
    fields[f"c{row1['birth_year'].id}"] = "1850"
    response = http.post("/sheets/1", data=fields)
    assert response.status_code == 422
    assert "année hors de 1900-2015" in response.text
    assert cells(review_db) == before
    fields[f"k{row1['birth_year'].id}"] = "1"
    assert http.post("/sheets/1", data=fields).status_code == 302
    assert cells(review_db)[row1["birth_year"].id].value == "1850"


def test_sheet_save_is_refused_when_someone_saved_in_between(
    review_db: ReviewDb, anne: Client, bruno: Client
) -> None:
    http, _ = anne
    fields = form_fields(http.get("/sheets/1").text, "sheet-form")
    auto = [c for c in cells(review_db).values() if c.page_id == 1 and c.review_state == "auto" and c.field == "name"]
    cell, other = auto[:2]  # not pending, so not leased by opening the sheet
    save(bruno, cell, value="PAUL ROY")
    fields[f"c{cell.id}"] = "PIERRE ROY"
    fields[f"c{other.id}"] = "JEANNE ROY"
    response = http.post("/sheets/1", data=fields, follow_redirects=True)
    assert "modifié cette saisie entre-temps" in response.text
    after = cells(review_db)
    assert after[cell.id].value == "PAUL ROY"
    assert after[other.id] == other  # all or nothing


def test_confirming_a_whole_sheet(review_db: ReviewDb, anne: Client) -> None:
    http, _ = anne
    page = 2
    fields = form_fields(http.get(f"/sheets/{page}").text, "sheet-form")
    for c in cells(review_db).values():
        if c.page_id == page and c.review_state == "pending" and c.value is None and c.raw:
            fields[f"c{c.id}"] = "?"  # invalid readings: illegible
    fields["confirm_pending"] = "1"
    assert http.post(f"/sheets/{page}", data=fields).status_code == 302
    assert not [c for c in cells(review_db).values() if c.page_id == page and c.review_state == "pending"]


# -- safety -----------------------------------------------------------------------------------------------
def test_values_are_escaped_everywhere(review_db: ReviewDb, anne: Client) -> None:
    http, _ = anne
    cell = next(c for c in cells(review_db).values() if c.field == "sender_name" and c.page_id == 1)
    save(anne, cell, value="<script>alert(1)</script>")
    assert cells(review_db)[cell.id].value == "<script>alert(1)</script>"
    for url in ("/sheets/1", "/audit"):
        html = http.get(url).text
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_log_holds_no_values_ids_or_names(
    review_db: ReviewDb, anne: Client, caplog: pytest.LogCaptureFixture
) -> None:
    cell = pending(review_db, kind="name")[0]
    with caplog.at_level(logging.INFO, logger="sheetscan.review"):
        save(anne, cell, value="GENEVIÈVE SECRET")
        anne[0].get("/review?kind=name")
    text = caplog.text
    assert "POST /review/<int:cell_id> 302" in text
    for private in ("GENEVIÈVE", "anne", "kind=name", f"/review/{cell.id}"):
        assert private not in text


def test_pages_set_protective_headers(anne: Client) -> None:
    response = anne[0].get("/review")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


# -- accounts ---------------------------------------------------------------------------------------------
def test_reviewer_add_command_creates_a_working_account(review_db: ReviewDb, app: Flask) -> None:
    result = CliRunner().invoke(
        reviewer_group, ["add", "chloe", "--db", str(review_db.path)], input="secret-de-chloe\nsecret-de-chloe\n"
    )
    assert result.exit_code == 0, result.output
    assert "Compte « chloe » créé." in result.output
    client = app.test_client()
    sign_in(client, "chloe", "secret-de-chloe")
    assert client.get("/review").status_code == 200
    with Store(review_db.path) as s:
        stored = ReviewStore(s).reviewer_by_name("chloe")
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
