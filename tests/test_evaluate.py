"""Evaluation against truth: the figures must count what they claim."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import pytest

from sheetscan.config import Settings
from sheetscan.evaluate import evaluate, format_report
from sheetscan.fields import edit_distance
from sheetscan.pipeline import ingest
from sheetscan.store import Store
from sheetscan.template import Template
from tests.helpers import FakeEngine, fill_page


def test_edit_distance() -> None:
    assert edit_distance("H2X 1Y4", "H2X 1Y4") == 0
    assert edit_distance("H2X 1Y4", "H2X1Y4") == 1
    assert edit_distance("", "1987") == 4
    assert edit_distance("1978", "1987") == 2


def test_scores_against_truth(tmp_path: Path, template: Template) -> None:
    rows = {
        1: {"name": "A", "postal_code": "A", "signature": "~", "birth_year": "A"},
        2: {"name": "A", "postal_code": "A", "birth_year": "A"},
    }
    cv2.imwrite(str(tmp_path / "p.png"), fill_page(template, rows))
    truth = {
        "file": "p.png", "page": 1,
        "rows": [
            {"row": 1, "signed": True, "fields": {
                "name": {"written": "x", "value": "JEAN ROY"}, "postal_code": {"written": "x", "value": "H2X 1Y4"},
                "birth_year": {"written": "x", "value": "1987"}}},
            {"row": 2, "signed": True, "fields": {  # truth says signed, page is not: one signature error
                "name": {"written": "x", "value": "ANNE ROY"}, "postal_code": {"written": "x", "value": "H2X 1Y4"},
                "birth_year": {"written": "x", "value": "1987"}, "phone": {"written": "x", "value": "514-555-1234"}}},
        ] + [{"row": n, "signed": False, "fields": {}} for n in range(3, 16)],
        "sender": {},
    }
    (tmp_path / "p.json").write_text(json.dumps(truth), encoding="utf-8")
    engine = FakeEngine({"name": "JEAN ROY", "postal_code": "H2X 1Y4", "birth_year": "1978"})
    with Store(tmp_path / "db") as store:
        ingest([tmp_path / "p.png"], store, [template], engine, Settings())
        report = evaluate(store, tmp_path)
    d = report.as_dict()
    assert d["pages_found"] == d["pages_truth"] == 1
    assert report.signed_total == 15 and report.signed_right == 14
    name = report.kinds["name"]
    assert (name.cells, name.exact, name.accepted, name.accepted_wrong) == (2, 1, 2, 1)  # ANNE read as JEAN
    year = report.kinds["birth_year"]
    assert (year.exact, year.char_errors, year.accepted_wrong) == (0, 4, 2)
    phone = report.kinds["phone"]  # written in truth, blank on the page: presence error, sent nowhere
    assert phone.cells == 1 and phone.presence_right == phone.presence_total - 1
    assert "birth_year" in format_report(report)


def test_tradeoff_and_calibration() -> None:
    from sheetscan.evaluate import MachineReading, calibrate, tradeoff

    readings = [MachineReading("year", c, True, ok) for c, ok in
                [(0.99, True), (0.95, True), (0.9, False), (0.8, True), (0.5, False)]]
    readings.append(MachineReading("year", 0.97, False, False))  # invalid: never accepted
    [all_, high] = tradeoff(readings, [0.0, 0.95])
    assert all_.accepted == pytest.approx(5 / 6) and all_.residual == pytest.approx(2 / 5)
    assert high.accepted == pytest.approx(2 / 6) and high.residual == 0.0
    assert calibrate(readings, 0.0, bound=False) == 0.95
    assert calibrate(readings, 0.25, bound=False) == 0.8
    # nothing qualifies: infinity, so that even a confidence of exactly 1.0 goes to review
    assert calibrate([MachineReading("year", 0.9, True, False)], 0.005) == math.inf
    # two right answers prove little: the bound refuses what the point estimate accepts
    assert calibrate(readings, 0.005) == math.inf
    many = [MachineReading("year", 0.9, True, True)] * 1000 + [MachineReading("year", 0.4, True, False)] * 50
    assert calibrate(many, 0.005) == 0.9


def test_held_out_tradeoff_judges_each_group_at_the_others_threshold() -> None:
    from sheetscan.evaluate import MachineReading, held_out_tradeoff

    right, wrong = MachineReading("postal", 0.99, True, True), MachineReading("postal", 0.99, True, False)
    low = MachineReading("postal", 0.5, True, True)
    # The first group alone would accept everything (its own threshold 0.5): the second, judged at that
    # threshold, lets its wrong value through; the first, judged at the second's (nothing meets 5 % there),
    # accepts nothing. Chosen on all twenty cells, 0.5 meets 5 % exactly (1 wrong in 20).
    groups = [[right] * 9 + [low], [right] * 8 + [wrong, low]]
    point = held_out_tradeoff(groups, 0.05)
    assert point.accepted == 0.5 and point.residual == 0.1
    assert point.threshold == 0.5


def test_residual_upper_bound() -> None:
    from sheetscan.evaluate import residual_upper_bound

    assert residual_upper_bound(0, 600) == pytest.approx(0.0045, abs=0.0005)
    assert residual_upper_bound(5, 100) > 0.05
    assert residual_upper_bound(0, 0) == 1.0


def test_tradeoff_table_says_when_no_threshold_is_safe_enough() -> None:
    from sheetscan.evaluate import MachineReading, Report, format_tradeoff

    phones = [MachineReading("phone", 1.0, True, False), MachineReading("phone", 0.9, True, True)]
    years = [MachineReading("birth_year", 0.9, True, True)] + [MachineReading("birth_year", 0.99, True, True)] * 700
    report = Report(machine=phones + years)
    lines = format_tradeoff(report, 0.005).splitlines()
    assert lines[-1].startswith("phone") and lines[-1].endswith("aucun")  # the surest value is wrong
    assert lines[-2].startswith("birth_year") and lines[-2].endswith("0.900")


def test_the_reviewed_spot_checks_judge_the_machine_against_the_reviewers(tmp_path: Path) -> None:
    from sheetscan.evaluate import format_sample, review_sample
    from sheetscan.review import synthetic
    from sheetscan.store.review import Change, ReviewStore

    with Store(tmp_path / "db.sqlite") as store:
        synthetic.fill(store, pages=2, seed=5)
        postal = [c for c in store.cells() if c.kind == "postal_code" and c.written and c.value is not None]
        drawn, spared = postal[:6], postal[6:]
        assert spared
        store.conn.executemany("UPDATE cells SET spot = ? WHERE id = ?", [(0.01, c.id) for c in drawn])
        reviews = ReviewStore(store, clock=lambda: 1000.0)
        reviewer = reviews.add_reviewer("anne", "hash")
        reviews.apply(reviewer, [
            Change(drawn[0].id, drawn[0].version, "corrected", "H0H 0H0"),  # the machine was wrong
            Change(drawn[1].id, drawn[1].version, "confirmed", drawn[1].value),
            Change(drawn[2].id, drawn[2].version, "confirmed", (drawn[2].value or "").replace(" ", "").lower()),
            Change(drawn[3].id, drawn[3].version, "illegible", None),  # not what the machine read either
            Change(drawn[4].id, drawn[4].version, "confirmed", drawn[4].value),
        ])  # drawn[5] waits
        sample = review_sample(store, spot_check=0.05)
        assert sample.waiting == 1
        assert sorted((r.confidence, r.correct) for r in sample.machine) == sorted(
            (c.confidence, i in (1, 2, 4)) for i, c in enumerate(drawn[:5])
        )
        assert review_sample(store, spot_check=0.005).machine == []  # 0.01 is not drawn at that share
        lines = format_sample(sample, {"postal_code": 0.0}, 0.005).splitlines()
    assert "5 cellule(s) révisée(s) sur 6 tirée(s) (1 encore à réviser" in lines[0]
    assert lines[2].split()[:5] == ["postal_code", "5", "0", "100%", "2"]  # 2 wrong of 5 accepted at threshold 0
    assert lines[2].endswith("aucun")


def test_a_value_held_for_review_whatever_its_confidence_is_never_counted_as_accepted(
    tmp_path: Path, template: Template
) -> None:
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    image = Image.fromarray(fill_page(template, {1: {"name": "JEAN ROY", "birth_year": "1987", "signature": "~"}}))
    x, y, w, h = template.cell_rect(1, "postal_code")
    px = 200 / 25.4
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", int(6 * px))
    ImageDraw.Draw(image).text(((x + w - 12) * px, (y + h / 2) * px), "H2X 1Y4", font=font, fill=0, anchor="lm")
    cv2.imwrite(str(tmp_path / "p.png"), np.asarray(image))  # the postal code runs past its right-hand line
    fields = {"name": "JEAN ROY", "postal_code": "H2X 1Y4", "birth_year": "1987"}
    truth = {"file": "p.png", "page": 1, "sender": {},
             "rows": [{"row": 1, "signed": True, "fields": {k: {"written": v, "value": v} for k, v in fields.items()}}]
             + [{"row": n, "signed": False, "fields": {}} for n in range(2, 16)]}
    (tmp_path / "p.json").write_text(json.dumps(truth), encoding="utf-8")
    with Store(tmp_path / "db") as store:
        ingest([tmp_path / "p.png"], store, [template], FakeEngine(fields), Settings(spot_check=0.0))
        report = evaluate(store, tmp_path)
    by_kind = {r.kind: r for r in report.machine}
    assert by_kind["postal_code"].correct and not by_kind["postal_code"].valid  # cut off: held, though right
    assert by_kind["name"].valid and by_kind["birth_year"].valid
