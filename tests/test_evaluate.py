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
