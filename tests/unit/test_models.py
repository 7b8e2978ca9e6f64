"""The OCR models rewritten into faster equivalent graphs (pipeline/read/models.py): small graphs built
here, whose every fold is checked against onnxruntime running the original, and rapidocr's own three
models on real inputs."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from pipeline.read import models
from pipeline.read.ocr import Engine, PageJob, raster_of

ROOT = Path(__file__).resolve().parents[2]
MODELS = Path(__import__("rapidocr_onnxruntime").__file__).parent / "models"
rng = np.random.default_rng(7)


def run(model: bytes, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def ops(model: bytes) -> Counter:
    return Counter(node.op_type for node in onnx.load_from_string(model).graph.node)


def const(name: str, value) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(value, np.float32), name))


def conv(name: str, x: str, out: str, channels: int, kernel: int, group: int = 1) -> list[onnx.NodeProto]:
    weight = rng.normal(size=(channels, channels // group, kernel, kernel)).astype(np.float32)
    pad = kernel // 2
    return [const(f"{name}.w", weight), const(f"{name}.b", rng.normal(size=channels)),
            helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [out], name=name, group=group,
                             kernel_shape=[kernel, kernel], pads=[pad] * 4)]


def affine(name: str, x: str, out: str, scale: float, shift: float) -> list[onnx.NodeProto]:
    """PPLCNetV3's learnt scale and shift, as Paddle exported them: Mul(number, x), then Add(·, number)."""
    return [const(f"{name}.s", [scale]), const(f"{name}.t", [shift]),
            helper.make_node("Mul", [f"{name}.s", x], [f"{name}.m"]),
            helper.make_node("Add", [f"{name}.m", f"{name}.t"], [out])]


def hard_swish(name: str, x: str, out: str) -> list[onnx.NodeProto]:
    """hard-swish spelt out, as in the PP-OCRv4 exports."""
    return [const(f"{name}.3", 3.0), const(f"{name}.0", 0.0), const(f"{name}.6", 6.0),
            helper.make_node("Add", [x, f"{name}.3"], [f"{name}.a"]),
            helper.make_node("Clip", [f"{name}.a", f"{name}.0", f"{name}.6"], [f"{name}.c"]),
            helper.make_node("Mul", [x, f"{name}.c"], [f"{name}.m"]),
            helper.make_node("Div", [f"{name}.m", f"{name}.6"], [out])]


def graph(nodes: list[onnx.NodeProto], channels: int = 4) -> bytes:
    shape = [1, channels, 9, 11]
    model = helper.make_model(helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)]), opset_imports=[helper.make_opsetid("", 12)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def rewritten(original: bytes, tmp_path: Path) -> bytes:
    path = tmp_path / "model.onnx"
    path.write_bytes(original)
    return models.faster(path)


def test_every_fold_keeps_the_function(tmp_path):
    # conv → scale/shift → hard-swish → scale/shift → 1×1 conv (pads nothing: folded whole)
    #      → scale/shift → hard-swish → scale/shift → 3×3 depthwise conv (pads: its shift stays)
    nodes = (conv("c1", "x", "c1.o", 4, 3) + affine("a1", "c1.o", "a1.o", 1.38, 0.586)
             + hard_swish("h1", "a1.o", "h1.o") + affine("a2", "h1.o", "a2.o", 0.168, -0.201)
             + conv("c2", "a2.o", "c2.o", 4, 1) + affine("a3", "c2.o", "a3.o", 2.11, 1.06)
             + hard_swish("h2", "a3.o", "h2.o") + affine("a4", "h2.o", "a4.o", 0.183, 0.75)
             + conv("c3", "a4.o", "y", 4, 3, group=4))
    original = graph(nodes)
    faster = rewritten(original, tmp_path)
    x = rng.normal(scale=2, size=(1, 4, 9, 11)).astype(np.float32)
    np.testing.assert_allclose(run(faster, x), run(original, x), rtol=1e-5, atol=1e-5)
    before, after = ops(original), ops(faster)
    assert (before["Conv"], before["Clip"], before["Div"]) == (3, 2, 2)
    assert (after["Conv"], after["Clip"], after["Div"], after["HardSigmoid"]) == (3, 0, 0, 2)
    # Left: each hard-swish's Mul, and the shift in front of the padding depthwise conv.
    assert (after["Mul"], after["Add"]) == (2, 1)


def test_a_tensor_used_twice_or_kept_as_output_is_not_folded_away(tmp_path):
    nodes = (conv("c1", "x", "c1.o", 4, 3) + affine("a1", "c1.o", "a1.o", 1.5, 0.5)
             + [helper.make_node("Add", ["c1.o", "a1.o"], ["y"])])
    original = graph(nodes)
    faster = rewritten(original, tmp_path)
    x = rng.normal(size=(1, 4, 9, 11)).astype(np.float32)
    np.testing.assert_allclose(run(faster, x), run(original, x), rtol=1e-5, atol=1e-5)
    assert ops(faster)["Mul"] == 1


def rec_batch() -> np.ndarray:
    """Six lines of a real scan as rapidocr's recogniser is given them."""
    engine = Engine(threads=1)
    path = ROOT / "tests" / "data" / "samples" / "form-dongying-petroleum-center-scanned.pdf"
    raster = raster_of(PageJob(path.read_bytes(), "pdf", 0, 200))
    grey = raster.pixels if raster.pixels.ndim == 2 else raster.pixels[:, :, 0]
    lines = engine.lines(grey)[:6]
    crops = [np.ascontiguousarray(np.stack([grey[int(y0):int(y1), int(x0):int(x1)]] * 3, axis=-1))
             for line in lines for x0, y0, x1, y1 in [line.rect]]
    rec = engine._ocr.text_rec
    ratio = max(320 / 48, *(c.shape[1] / c.shape[0] for c in crops))
    return np.stack([rec.resize_norm_img(c, ratio) for c in crops]).astype(np.float32)


@pytest.mark.parametrize("name, shape", [("ch_PP-OCRv4_det_infer.onnx", (1, 3, 640, 480)),
                                         ("ch_ppocr_mobile_v2.0_cls_infer.onnx", (6, 3, 48, 192)),
                                         ("ch_PP-OCRv4_rec_infer.onnx", None)])
def test_rapidocrs_models_give_what_they_gave(name, shape):
    original = (MODELS / name).read_bytes()
    faster = models.faster(MODELS / name)
    x = rec_batch() if shape is None else rng.uniform(-1, 1, size=shape).astype(np.float32)
    want, got = run(original, x), run(faster, x)
    np.testing.assert_allclose(got, want, atol=1e-3)
    if shape is None:   # the recogniser reads the same characters
        assert (got.argmax(-1) == want.argmax(-1)).all()
    assert sum(ops(faster).values()) < sum(ops(original).values())
    assert ops(faster)["Clip"] < ops(original)["Clip"] or not ops(original)["Clip"]


def test_a_worker_keeps_the_rewritten_model_and_the_next_loads_it(tmp_path, monkeypatch):
    session = onnxruntime.InferenceSession(str(MODELS / "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
                                           providers=["CPUExecutionProvider"])
    x = rng.uniform(-1, 1, size=(2, 3, 48, 192)).astype(np.float32)
    first = models.session_like(session, tmp_path)
    kept = list(tmp_path.iterdir())
    assert len(kept) == 1 and kept[0].name.startswith("ch_ppocr_mobile_v2.0_cls_infer-")

    def no_rewrite(path):
        raise AssertionError("rewritten again")
    monkeypatch.setattr(models, "faster", no_rewrite)
    second = models.session_like(session, tmp_path)
    name = session.get_inputs()[0].name
    np.testing.assert_array_equal(second.run(None, {name: x})[0], first.run(None, {name: x})[0])
    monkeypatch.undo()

    kept[0].write_bytes(b"half a model")     # damaged: made again, and kept again
    third = models.session_like(session, tmp_path)
    np.testing.assert_array_equal(third.run(None, {name: x})[0], first.run(None, {name: x})[0])
    assert kept[0].read_bytes() != b"half a model"


def test_the_read_package_does_not_import_onnx_until_a_model_is_rewritten():
    # Importing onnx takes a second: every command and parsing child imports the read package.
    out = subprocess.run([sys.executable, "-c", "import sys, pipeline.flow; print('onnx' in sys.modules)"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
