"""Build sheetscan's reading model from the PP-OCRv6 recogniser shipped in the pinned rapidocr wheel.

    pip install -e ".[models]"   # the rapidocr wheel and onnx, at build time only
    .venv/bin/python scripts/build_ppocr_model.py --int8 --out sheetscan/models/ppocr_rec_int8.onnx

The committed `sheetscan/models/ppocr_rec_int8.onnx` is this script's output (two builds here gave the same
bytes); the source network's sha256 is recorded in its metadata (`source_sha256`). PP-OCR's weights are
Apache-2.0 (PaddleOCR), redistributed here modified as described below. Measured on the bench's cells
(held-out fonts): the int8 network reads as many fields right as the float one (within +-1 %), at half the CPU.

Steps (all deterministic for a given wheel):
1. opset 11 -> 20 and the Erf-based GELU (Div/Erf/Add/Mul/Mul) folded into one Gelu node (quantizable graph,
   and one float kernel instead of five between int8 convolutions);
2. classifier cut from 18,710 classes to those any field can use (the alphabets' classes plus Latin letters,
   digits and punctuation): the 120x18710 MatMul, its bias Add and the softmax were ~15% of the float network
   and 25% of the int8 one, and the (T, 18710) output had to be copied and folded for every cell;
3. with --int8: static QDQ int8 (per-channel s8 weights, u8 activations, percentile calibration) of the
   backbone's full convolutions; the squeeze-excitation and depthwise convolutions and the neck stay float
   (cheap, and where the quantisation error came from), as does the classifier.
Needs `onnx` (build time only). Calibration lines are cut from a few synthetic sheets (sheetscan.synth).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, version_converter

from sheetscan.stages import ppocr

HEAD_W, HEAD_B = "linear_8.w_0", "linear_8.b_0"
MODEL_FILE = "PP-OCRv6_rec_small.onnx"


def wheel_model() -> Path:
    """The recogniser inside the installed rapidocr wheel (located, not imported: only its data file is used)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('rapidocr is not installed: pip install -e ".[models]"')
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / MODEL_FILE
    if not path.exists():
        raise SystemExit(f"{path}: missing from the rapidocr wheel")
    return path


def fuse_gelu(model: onnx.ModelProto) -> int:
    g = model.graph
    consts = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    users: dict[str, list[onnx.NodeProto]] = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    producer = {o: n for n in g.node for o in n.output}
    drop, fused = set(), 0
    for erf in [n for n in g.node if n.op_type == "Erf"]:
        div = producer.get(erf.input[0])
        if div is None or div.op_type != "Div" or not np.isclose(consts.get(div.input[1], 0.0), np.sqrt(2)):
            continue
        x = div.input[0]
        (add,) = users[erf.output[0]]
        (mul_x,) = users[add.output[0]]
        (half,) = users[mul_x.output[0]]
        if add.op_type != "Add" or mul_x.op_type != "Mul" or x not in mul_x.input or half.op_type != "Mul":
            continue
        g.node.insert(list(g.node).index(half), helper.make_node("Gelu", [x], [half.output[0]], name=f"Gelu_{fused}"))
        drop |= {id(div), id(erf), id(add), id(mul_x), id(half)}
        fused += 1
    kept = [n for n in g.node if id(n) not in drop]
    del g.node[:]
    g.node.extend(kept)
    return fused


def wanted_classes(classes: list[str]) -> set[str]:
    used = np.zeros(len(classes), bool)
    for alphabet in ppocr.build_alphabets(classes).values():
        used |= alphabet.column_of >= 0
    extra = "’‘´`—–€«»·•…“”"
    return {c for k, c in enumerate(classes) if used[k] or (len(c) == 1 and (ord(c) < 0x250 or c in extra))}


def prune_head(model: onnx.ModelProto) -> int:
    meta = {p.key: p for p in model.metadata_props}
    classes = ["<blank>", *meta["character"].value.splitlines(), " "]
    keep = wanted_classes(classes)
    idx = [0] + [k for k in range(1, len(classes) - 1) if classes[k] in keep] + [len(classes) - 1]
    for t in model.graph.initializer:
        if t.name in (HEAD_W, HEAD_B):
            a = numpy_helper.to_array(t)
            t.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(a[..., idx]), t.name))
    meta["character"].value = "\n".join(classes[k] for k in idx[1:-1])
    for vi in [*model.graph.output, *model.graph.value_info]:
        dims = vi.type.tensor_type.shape.dim
        if len(dims) == 3 and dims[2].dim_value == len(classes):
            dims[2].dim_value = len(idx)
    return len(idx)


def calibration_lines(sheets: int = 6, seed: int = 20261129) -> list[np.ndarray]:
    """Line tensors (1, 3, 48, W) of cells cut from synthetic sheets, as the engine prepares them."""
    import json

    from sheetscan.fields import FieldKind
    from sheetscan.pipeline import fit_template
    from sheetscan.stages.cells import cut_cells
    from sheetscan.stages.ink import measure, paper_level
    from sheetscan.stages.load import LoadedPage, load_pages
    from sheetscan.synth import generate
    from sheetscan.template import TEMPLATES_DIR, load_template

    template = load_template(TEMPLATES_DIR / "retour-hernandez-romero.json")
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for truth_file in generate(Path(tmp), sheets, seed, template, fonts=["comic-neue", "dkg", "breip"]):
            truth = json.loads(truth_file.read_text())
            page = next(iter(load_pages(Path(tmp) / truth["file"])))
            assert isinstance(page, LoadedPage), page  # a sheet we drew ourselves
            tpl, geometry = fit_template(page, [template])
            paper = paper_level(page.image)
            for cut in cut_cells(page.image, geometry, tpl):
                if cut.row is None or cut.kind is FieldKind.SIGNATURE:
                    continue
                ink = measure(cut.window, paper, cut.lines)
                line = ppocr.prepare(ink.cleaned) if ink.written else None
                if line is not None:
                    lines.append(line.tensor[None])
    return lines


def quantize(src: Path, out: Path, lines: list[np.ndarray]) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        calibrate,
        quantize_static,
    )

    collect = calibrate.HistogramCollector.collect

    def flat_collect(self, name_to_arr):  # lines differ in width: one histogram over all of each tensor's values
        return collect(self, {k: np.concatenate([a.ravel() for a in v]) if isinstance(v, list) else v
                              for k, v in name_to_arr.items()})

    calibrate.HistogramCollector.collect = flat_collect

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{"x": x} for x in lines])

        def get_next(self):
            return next(self.it, None)

    model = onnx.load(src)
    producer = {o: n for n in model.graph.node for o in n.output}
    float_convs = []
    for n in model.graph.node:
        if n.op_type != "Conv":
            continue
        group = next((a.i for a in n.attribute if a.name == "group"), 1)
        src_node = producer.get(n.input[0])
        pooled = src_node is not None and src_node.op_type in ("ReduceMean", "GlobalAveragePool")
        se_second = (src_node is not None and src_node.op_type == "Relu" and producer.get(src_node.input[0]) is not None
                     and producer[src_node.input[0]].name in float_convs)
        if group > 1 or pooled or se_second:
            float_convs.append(n.name)
    head = [n.name for n in model.graph.node if HEAD_W in n.input]
    weights = {t.name: tuple(t.dims) for t in model.graph.initializer}
    width = weights[HEAD_W][0]
    # the neck's convolutions (to the classifier's 120 features) work on the 1-row sequence: tiny, keep float
    float_convs += [n.name for n in model.graph.node
                    if n.op_type == "Conv" and weights.get(n.input[1], (0,))[0] == width and n.name not in float_convs]
    print("float convolutions:", len(float_convs))
    quantize_static(str(src), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, op_types_to_quantize=["Conv"],
                    nodes_to_exclude=float_convs + head, calibrate_method=CalibrationMethod.Percentile)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("sheetscan/models/ppocr_rec.onnx"))
    args = ap.parse_args()
    source = wheel_model()
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:  # constant folding, Conv+BatchNorm fusion, shapes
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(source), str(pre), skip_symbolic_shape=True)
        model = version_converter.convert_version(onnx.load(pre), 20)
    print("GELU fused:", fuse_gelu(model), "classes kept:", prune_head(model))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    model.metadata_props.append(onnx.StringStringEntryProto(key="source_sha256", value=digest))
    onnx.checker.check_model(model)
    if not args.int8:
        onnx.save(model, args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        pruned = Path(tmp) / "pruned.onnx"
        onnx.save(model, pruned)
        quantize(pruned, args.out, calibration_lines())
    return 0


if __name__ == "__main__":
    sys.exit(main())
