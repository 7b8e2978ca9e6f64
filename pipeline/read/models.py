"""rapidocr's ONNX models, rewritten into equivalent graphs that run faster.

The PP-OCRv4 detector and recogniser were exported from Paddle with every hard-swish spelt out as
Add, Clip, Mul and Div, and with every convolution and activation followed by a learnt scale and
shift (PPLCNetV3's affine blocks: a Mul and an Add by one number each). Each of those is a pass over a
full-size tensor, and onnxruntime fuses none of them. Here a scale and shift after a convolution goes
into its weights and bias; one before a convolution that pads nothing goes into its weights and bias
too, and before one that pads, the scale does and the shift stays (the padding is zeros in both); a
spelt-out hard-swish becomes x·HardSigmoid(x), which onnxruntime fuses into the convolution before it.
The results equal the original's to within float rounding; on one core the recogniser takes about 40 %
less time and the detector about 28 % less.
"""
from __future__ import annotations

import hashlib
import importlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..filing import write_atomic

if TYPE_CHECKING:
    import onnx
    import onnxruntime

log = logging.getLogger("intake.read")


def _onnx() -> Any:
    """The onnx package, imported where a model is rewritten only: importing it takes a second (its
    ml_dtypes), which every process that merely imports the read package would pay."""
    return importlib.import_module("onnx")


@dataclass
class _Graph:
    """The graph's nodes, with its constants as arrays and who uses each tensor."""
    model: onnx.ModelProto
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    users: dict[str, list[onnx.NodeProto]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        graph = self.model.graph
        self.consts = {init.name: _onnx().numpy_helper.to_array(init) for init in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant" and node.attribute[0].name == "value":
                self.consts[node.output[0]] = _onnx().numpy_helper.to_array(node.attribute[0].t)
        self.outputs = {out.name for out in graph.output}
        self.refresh()

    def refresh(self) -> None:
        self.users = defaultdict(list)
        for node in self.model.graph.node:
            for name in node.input:
                self.users[name].append(node)

    def only_user(self, name: str) -> onnx.NodeProto | None:
        users = self.users.get(name, [])
        return users[0] if len(users) == 1 and name not in self.outputs else None

    def scalar(self, node: onnx.NodeProto) -> tuple[str, float] | None:
        """(the other input, the number) of a node with one input a one-number constant."""
        if len(node.input) != 2:
            return None
        for k in (0, 1):
            value = self.consts.get(node.input[k])
            if value is not None and value.size == 1 and node.input[1 - k] not in self.consts:
                return node.input[1 - k], float(value.ravel()[0])
        return None

    def number(self, name: str) -> float | None:
        value = self.consts.get(name)
        return float(value.ravel()[0]) if value is not None and value.size == 1 else None

    def set_const(self, name: str, value: np.ndarray) -> str:
        """A new constant holding value; its name."""
        new = f"{name}.folded{len(self.consts)}"
        self.model.graph.initializer.append(_onnx().numpy_helper.from_array(value.astype(np.float32), new))
        self.consts[new] = value
        return new


def _conv_parts(g: _Graph, conv: onnx.NodeProto) -> tuple[np.ndarray, np.ndarray] | None:
    if conv.op_type != "Conv" or conv.input[1] not in g.consts:
        return None
    weight = g.consts[conv.input[1]]
    bias = g.consts.get(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else np.zeros(weight.shape[0], np.float32)
    return (weight, bias) if bias is not None else None


def _set_conv(g: _Graph, conv: onnx.NodeProto, weight: np.ndarray, bias: np.ndarray) -> None:
    conv.input[1] = g.set_const(conv.input[1], weight)
    if len(conv.input) > 2:
        conv.input[2] = g.set_const(conv.input[2] or conv.name, bias)
    else:
        conv.input.append(g.set_const(conv.name or conv.output[0], bias))


def _pads_nothing(conv: onnx.NodeProto) -> bool:
    attrs = {a.name: _onnx().helper.get_attribute_value(a) for a in conv.attribute}
    auto = attrs.get("auto_pad", b"NOTSET")
    return (auto in (b"NOTSET", b"VALID")) and not any(attrs.get("pads", []))


def _affine_after(g: _Graph, node: onnx.NodeProto) -> tuple[onnx.NodeProto, float, onnx.NodeProto, float] | None:
    """The Mul by a number and the Add of a number that alone use node's output, in that order."""
    mul = g.only_user(node.output[0])
    if mul is None or mul.op_type != "Mul" or (scaled := g.scalar(mul)) is None:
        return None
    add = g.only_user(mul.output[0])
    if add is None or add.op_type != "Add" or (shifted := g.scalar(add)) is None:
        return None
    return mul, scaled[1], add, shifted[1]


def _fold_after_convs(g: _Graph) -> set[int]:
    """Conv → Mul(s) → Add(b) becomes one Conv with s·W and s·B + b."""
    gone: set[int] = set()
    for conv in g.model.graph.node:
        parts = _conv_parts(g, conv)
        affine = _affine_after(g, conv) if parts else None
        if parts is None or affine is None:
            continue
        (weight, bias), (mul, s, add, b) = parts, affine
        _set_conv(g, conv, weight * s, bias * s + b)
        conv.output[0] = add.output[0]
        gone |= {id(mul), id(add)}
    return gone


def _fold_before_convs(g: _Graph) -> set[int]:
    """Mul(s) → Add(b) → Conv: s goes into the Conv's weights; so does b when the Conv pads nothing,
    and otherwise an Add of b/s stays in front of it (the padding is zeros either way)."""
    gone: set[int] = set()
    for mul in g.model.graph.node:
        if mul.op_type != "Mul" or id(mul) in gone or (scaled := g.scalar(mul)) is None or scaled[1] == 0:
            continue
        add = g.only_user(mul.output[0])
        if add is None or add.op_type != "Add" or (shifted := g.scalar(add)) is None:
            continue
        convs = g.users.get(add.output[0], [])
        if not convs or add.output[0] in g.outputs or any(
                c.input[0] != add.output[0] or _conv_parts(g, c) is None for c in convs):
            continue
        (source, s), (_, b) = scaled, shifted
        padless = all(_pads_nothing(c) for c in convs)
        for conv in convs:
            parts = _conv_parts(g, conv)
            assert parts is not None
            weight, bias = parts
            _set_conv(g, conv, weight * s, bias + b * weight.sum(axis=(1, 2, 3)) if padless else bias)
        gone.add(id(mul))
        if padless:
            gone.add(id(add))
            for conv in convs:
                conv.input[0] = source
        else:
            add.input[:] = [source, g.set_const(add.input[1], np.array([b / s], np.float32))]
    return gone


def _hard_swishes(g: _Graph) -> set[int]:
    """x → Add(3) → Clip(0, 6) → Mul(x, ·) → Div(6) becomes Mul(x, HardSigmoid(x)), the same function."""
    gone: set[int] = set()
    for plus in g.model.graph.node:
        if plus.op_type != "Add" or (found := g.scalar(plus)) is None or found[1] != 3.0:
            continue
        x = found[0]
        clip = g.only_user(plus.output[0])
        if clip is None or clip.op_type != "Clip" or [g.number(n) for n in clip.input[1:]] != [0.0, 6.0]:
            continue
        times = g.only_user(clip.output[0])
        if times is None or times.op_type != "Mul" or set(times.input) != {x, clip.output[0]}:
            continue
        div = g.only_user(times.output[0])
        if div is None or div.op_type != "Div" or div.input[0] != times.output[0] or \
                g.number(div.input[1]) != 6.0:
            continue
        # HardSwish itself came in opset 14 and these models are opset 11 and 12; onnxruntime fuses the
        # pair into the convolution before it as one HardSwish activation.
        clip.op_type = "HardSigmoid"
        clip.input[:] = [x]
        clip.attribute.extend([_onnx().helper.make_attribute("alpha", 1 / 6), _onnx().helper.make_attribute("beta", 0.5)])
        times.output[0] = div.output[0]
        gone |= {id(plus), id(div)}
    return gone


def _drop(g: _Graph, gone: set[int]) -> None:
    """The nodes whose ids are in gone left out. An id names a node while its wrapper lives: every node
    a fold removes has inputs, so g.users holds it until this refresh."""
    nodes = [node for node in g.model.graph.node if id(node) not in gone]
    del g.model.graph.node[:]
    g.model.graph.node.extend(nodes)
    g.refresh()


def faster(path: Path) -> bytes:
    """The model at path, rewritten (see the module's docstring), serialised for onnxruntime."""
    g = _Graph(_onnx().load(str(path)))
    for step in (_fold_after_convs, _hard_swishes, _fold_after_convs, _fold_before_convs):
        _drop(g, step(g))
    # The weights the folds replaced: constants nothing reads any more.
    graph = g.model.graph
    read = {name for node in graph.node for name in node.input} | {out.name for out in graph.output}
    nodes = [node for node in graph.node if node.op_type != "Constant" or node.output[0] in read]
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [init for init in graph.initializer if init.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return g.model.SerializeToString()


def session_like(session: onnxruntime.InferenceSession, kept: Path | None = None) -> onnxruntime.InferenceSession:
    """A session of the faster graph of session's model, with its options and providers. kept: a folder
    where the rewritten graph is kept, so that a worker of the next pass loads it without the onnx
    package; named by the model's and this module's bytes, so that either changing makes a new one."""
    import onnxruntime

    path = Path(session._model_path)
    place = None
    if kept is not None:
        key = hashlib.sha256(path.read_bytes() + Path(__file__).read_bytes()).hexdigest()[:16]
        place = kept / f"{path.stem}-{key}.onnx"

    def opened(data: bytes) -> onnxruntime.InferenceSession:
        return onnxruntime.InferenceSession(data, session.get_session_options(), providers=session.get_providers())

    data = _kept(place)
    if data is not None:
        try:
            return opened(data)
        except Exception:  # noqa: BLE001 - a kept file damaged by hand: made again from the model
            log.warning("the kept %s does not load: rewritten again", place)
    data = faster(path)
    if place is not None:
        try:
            write_atomic(place, data)
        except OSError as exc:   # a full or read-only disk: the next worker rewrites it again
            log.warning("could not keep the rewritten %s: %s", path.name, exc)
    return opened(data)


def _kept(place: Path | None) -> bytes | None:
    if place is None:
        return None
    try:
        return place.read_bytes()
    except OSError:
        return None
