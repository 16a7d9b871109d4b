"""Score what is in the store against ground truth (the test bench's JSON files): per field kind,
exact-match accuracy, character error rate, blank/written and signed/unsigned accuracy, review rate and
the wrong values that were *not* sent to review (residual error)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sheetscan.fields import FieldInvalid, FieldKind, edit_distance, validate
from sheetscan.records import ReviewReason
from sheetscan.store.db import Store, StoredCell
from sheetscan.store.review import REVIEWED_STATES

ACCEPTED = ("auto", "confirmed", "corrected", "blank", "illegible")


@dataclass
class KindScore:
    cells: int = 0  # cells holding writing in the truth
    exact: int = 0
    char_errors: int = 0
    chars: int = 0
    presence_total: int = 0  # every cell: written vs blank decided right?
    presence_right: int = 0
    to_review: int = 0  # written cells sent to review
    accepted: int = 0  # written cells accepted without review
    accepted_wrong: int = 0  # of those, wrong value

    def as_dict(self) -> dict[str, float | int]:
        d: dict[str, float | int] = asdict(self)
        d["exact_rate"] = self.exact / self.cells if self.cells else 0.0
        d["cer"] = self.char_errors / self.chars if self.chars else 0.0
        d["presence_rate"] = self.presence_right / self.presence_total if self.presence_total else 0.0
        d["review_rate"] = self.to_review / self.cells if self.cells else 0.0
        d["accepted_rate"] = self.accepted / self.cells if self.cells else 0.0
        d["residual_error"] = self.accepted_wrong / self.accepted if self.accepted else 0.0
        return d


@dataclass(frozen=True)
class MachineReading:
    """What the engine said about a cell that holds writing, before any review: for calibration."""

    kind: str
    confidence: float
    valid: bool  # a valid value that a low enough threshold would accept: not one the machine holds for review
    # whatever its confidence (HELD)
    correct: bool


@dataclass(frozen=True)
class TradeOff:
    threshold: float
    accepted: float  # share of written cells accepted without review
    residual: float  # share of accepted values that are wrong


@dataclass
class Report:
    pages_truth: int = 0
    pages_found: int = 0
    kinds: dict[str, KindScore] = field(default_factory=dict)
    signed_total: int = 0
    signed_right: int = 0
    machine: list[MachineReading] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "pages_truth": self.pages_truth,
            "pages_found": self.pages_found,
            "signed_rate": self.signed_right / self.signed_total if self.signed_total else 0.0,
            "signed_total": self.signed_total,
            "kinds": {k: v.as_dict() for k, v in sorted(self.kinds.items())},
        }


# Reasons that keep a cell in review whatever the thresholds: writing cut off at the right-hand line or shared
# with another row, a doubtful grid fit.
HELD = {str(ReviewReason.CUT_OFF), str(ReviewReason.SHARED_INK), str(ReviewReason.REGISTRATION_DOUBTFUL)}


def _acceptable(value: str | None, cell: StoredCell) -> bool:
    """A valid value that a low enough threshold would accept: not one held for review whatever its confidence."""
    return value is not None and cell.review_reason not in HELD


def _machine_value(cell: StoredCell) -> str | None:
    try:
        return validate(FieldKind(cell.kind), cell.raw)
    except (FieldInvalid, ValueError):
        return None


def _score_cell(score: KindScore, cell: StoredCell | None, truth: str | None,
                machine: list[MachineReading] | None = None) -> None:
    written = bool(cell and cell.written)
    score.presence_total += 1
    score.presence_right += written == (truth is not None)
    if truth is None:
        return
    score.cells += 1
    if machine is not None and cell is not None:
        value = _machine_value(cell) if cell.written else None
        machine.append(MachineReading(cell.kind, cell.confidence if cell.written else 0.0,
                                      _acceptable(value, cell), value == truth))
    got = (cell.value or cell.raw or "") if cell else ""
    if cell and cell.review_state in ("blank", "illegible"):
        got = ""
    score.exact += got == truth
    score.char_errors += edit_distance(got, truth)
    score.chars += len(truth)
    pending = cell is None or cell.review_state == "pending"
    if pending:
        score.to_review += 1
    else:
        score.accepted += 1
        score.accepted_wrong += got != truth


def evaluate(store: Store, truth_dir: Path) -> Report:
    report = Report()
    by_page: dict[tuple[str, int], list[StoredCell]] = {}
    for cell in store.cells():
        by_page.setdefault((cell.source, cell.page), []).append(cell)
    for path in sorted(truth_dir.glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        report.pages_truth += 1
        cells = by_page.get((truth["file"], int(truth.get("page", 1))))
        if cells is None:
            continue
        report.pages_found += 1
        found = {(c.row, c.field): c for c in cells}
        for row in truth["rows"]:
            fields = row.get("fields", {})
            for (r, key), cell in found.items():
                if r != row["row"] or cell.kind == "signature":
                    continue
                expected = fields.get(key)
                _score_cell(report.kinds.setdefault(cell.kind, KindScore()), cell,
                            expected["value"] if expected else None, report.machine)
            sig = found.get((row["row"], "signature"))
            report.signed_total += 1
            report.signed_right += bool(sig and sig.value == "signed") == bool(row.get("signed"))
        for key, expected in truth.get("sender", {}).items():
            sender_cell = found.get((None, key))
            kind = f"sender_{sender_cell.kind}" if sender_cell else "sender"
            _score_cell(
                report.kinds.setdefault(kind, KindScore()), sender_cell, expected["value"] if expected else None
            )
    return report


def format_report(report: Report) -> str:
    lines = [
        f"Pages : {report.pages_found}/{report.pages_truth} lues",
        f"Signature présente/absente : {report.as_dict()['signed_rate']:.1%} ({report.signed_total} rangées)",
        "",
        f"{'champ':<18}{'cellules':>9}{'exact':>8}{'CER':>7}{'vide/écrit':>11}{'révision':>10}"
        f"{'acceptées':>10}{'erreurs acceptées':>19}",
    ]
    for kind, score in sorted(report.kinds.items()):
        d = score.as_dict()
        lines.append(
            f"{kind:<18}{score.cells:>9}{d['exact_rate']:>8.1%}{d['cer']:>7.1%}{d['presence_rate']:>11.2%}"
            f"{d['review_rate']:>10.1%}{d['accepted_rate']:>10.1%}"
            f"{score.accepted_wrong:>8} ({d['residual_error']:.1%})"
        )
    return "\n".join(lines)


def _accepted(readings: list[MachineReading], threshold: float) -> tuple[int, int]:
    """How many readings a threshold accepts (valid and confident enough), and how many of those are wrong."""
    accepted = [r for r in readings if r.valid and r.confidence >= threshold]
    return len(accepted), sum(1 for r in accepted if not r.correct)


def tradeoff(readings: list[MachineReading], thresholds: list[float]) -> list[TradeOff]:
    """Accepted share and residual error if cells with confidence >= threshold (and a valid value) were accepted."""
    total = len(readings)
    out = []
    for t in thresholds:
        accepted, wrong = _accepted(readings, t)
        out.append(TradeOff(t, accepted / total if total else 0.0, wrong / accepted if accepted else 0.0))
    return out


def residual_upper_bound(wrong: int, accepted: int, z: float = 1.645) -> float:
    """One-sided 95 % Wilson upper bound of the error rate seen as `wrong` out of `accepted`."""
    if accepted == 0:
        return 1.0
    p = wrong / accepted
    denom = 1 + z * z / accepted
    centre = p + z * z / (2 * accepted)
    spread = z * math.sqrt(p * (1 - p) / accepted + z * z / (4 * accepted * accepted))
    return (centre + spread) / denom


def calibrate(readings: list[MachineReading], target: float, bound: bool = True) -> float:
    """The lowest threshold whose accepted values are wrong at most `target` of the time: with `bound`, that
    must hold for the 95 % upper bound of the error rate, not only for the rate seen (a small calibration set
    with no error proves little). Infinity (review everything) when no threshold qualifies."""
    candidates = sorted({r.confidence for r in readings if r.valid})
    for t in candidates:
        accepted, wrong = _accepted(readings, t)
        rate = residual_upper_bound(wrong, accepted) if bound else wrong / accepted
        if rate <= target:
            return t
    return math.inf


def held_out_tradeoff(groups: list[list[MachineReading]], target: float) -> TradeOff:
    """What a calibration promises on cells it did not see: each group's readings judged at the threshold
    calibrated (point estimate) on the other groups', pooled. Chosen on the cells it judges, a threshold
    flatters itself. The threshold reported is the one calibrated on all groups."""
    accepted = wrong = 0
    for i, group in enumerate(groups):
        others = [r for j, g in enumerate(groups) if j != i for r in g]
        a, w = _accepted(group, calibrate(others, target, bound=False))
        accepted, wrong = accepted + a, wrong + w
    total = sum(map(len, groups))
    everything = [r for g in groups for r in g]
    return TradeOff(calibrate(everything, target, bound=False), accepted / total if total else 0.0,
                    wrong / accepted if accepted else 0.0)


THRESHOLDS = [0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99]


def format_tradeoff(report: Report, target: float) -> str:
    lines = [f"Compromis par champ (acceptées / erreurs parmi les acceptées), cible {target:.1%} :"]
    header = "".join(f"{t:>13.2f}" for t in THRESHOLDS)
    lines.append(f"{'champ':<14}{header}{'seuil calibré':>16}")
    for kind in sorted({r.kind for r in report.machine}):
        readings = [r for r in report.machine if r.kind == kind]
        cells = "".join(f"{p.accepted:>7.0%}/{p.residual:<5.1%}" for p in tradeoff(readings, THRESHOLDS))
        threshold = calibrate(readings, target)
        lines.append(f"{kind:<14}{cells}{'aucun' if math.isinf(threshold) else f'{threshold:.3f}':>16}")
    return "\n".join(lines)


@dataclass
class ReviewSample:
    """The spot-check sample (Settings.spot_check): written cells the draw took, reviewed, each machine reading
    judged against what the reviewer kept. Drawn whatever their confidence, they stand for all written cells."""

    machine: list[MachineReading] = field(default_factory=list)
    waiting: int = 0  # drawn cells nobody has reviewed yet (left out)


def _normalised(kind: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate(FieldKind(kind), value)
    except (FieldInvalid, ValueError):
        return value


def review_sample(store: Store, spot_check: float) -> ReviewSample:
    """The reviewed cells of the spot-check draw at share `spot_check`. A cell a reviewer marked blank or
    illegible counts as misread if the machine gave it a value."""
    sample = ReviewSample()
    for cell in store.cells():
        if not cell.written or cell.spot is None or cell.spot >= spot_check:
            continue
        if cell.review_state not in REVIEWED_STATES:
            sample.waiting += 1
            continue
        machine = _machine_value(cell)
        kept = _normalised(cell.kind, cell.value) if cell.review_state in ("confirmed", "corrected") else None
        sample.machine.append(MachineReading(cell.kind, cell.confidence, _acceptable(machine, cell),
                                             machine is not None and machine == kept))
    return sample


def format_sample(sample: ReviewSample, thresholds: dict[str, float], target: float) -> str:
    """Per field kind, on the reviewed spot checks: what the current threshold accepts and how often those
    values were wrong (with the 95 % upper bound), and the lowest threshold whose bound meets `target`."""
    total = len(sample.machine) + sample.waiting
    lines = [
        f"Contrôles au hasard : {len(sample.machine)} cellule(s) révisée(s) sur {total} tirée(s)"
        + (f" ({sample.waiting} encore à réviser, laissées de côté)" if sample.waiting else "")
    ]
    if not sample.machine:
        return "\n".join(lines)
    lines += [
        f"{'champ':<14}{'contrôlées':>11}{'seuil':>10}{'acceptées':>11}{'erronées':>10}{'erreur':>9}"
        f"{'(borne 95 %)':>14}{'seuil calibré':>15}{'acceptées':>11}",
    ]
    for kind in sorted({r.kind for r in sample.machine}):
        readings = [r for r in sample.machine if r.kind == kind]
        threshold = thresholds.get(kind, math.inf)
        accepted, wrong = _accepted(readings, threshold)
        calibrated = calibrate(readings, target)
        [then] = tradeoff(readings, [calibrated])
        lines.append(
            f"{kind:<14}{len(readings):>11}{threshold:>10.4g}{accepted / len(readings):>11.0%}{wrong:>10}"
            f"{wrong / accepted if accepted else 0.0:>9.1%}{residual_upper_bound(wrong, accepted):>14.1%}"
            + (f"{'aucun':>15}" if math.isinf(calibrated) else f"{calibrated:>15.4g}{then.accepted:>11.0%}")
        )
    lines.append(f"Seuil calibré : le plus bas dont la borne à 95 % de l'erreur reste sous {target:.1%} sur ces "
                 "cellules ; avec peu de cellules contrôlées, aucun ne l'est encore.")
    return "\n".join(lines)
