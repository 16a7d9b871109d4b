"""Int8 for the networks the training scripts export (`train_handprint.py`, `train_linereader.py`).

Not part of the package: the run-time only loads the quantised ONNX files. Needs onnx (training extra).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np


def quantize_convs(float_path: Path, out: Path, inputs: Iterable[dict[str, np.ndarray]]) -> None:
    """Static QDQ int8 of the network's convolutions (per-channel s8 weights, u8 activations, calibrated on
    `inputs`, batch norms folded first); every other layer stays float. Deterministic for the same inputs."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Inputs(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.left, None)

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(float_path), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(out), Inputs(), quant_format=QuantFormat.QDQ, per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, op_types_to_quantize=["Conv"])
