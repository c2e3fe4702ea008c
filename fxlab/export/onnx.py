"""ONNX: a sample-level network (``lstm``, ``gru``, ``tcn``) as a streaming graph.

The graph (opset 17) takes one block and the state, and returns the block's output and the state
to pass with the next block, so a host streams it block by block exactly as fxlab's runtime does:

- inputs: ``x`` float32 ``[T]`` (any block length); for a network conditioned on ``K`` knobs,
  ``knobs`` float32 ``[T, K]`` (one row of normalised knob values per sample, in the order of
  ``metadata_props["knobs"]``); then per layer ``k``: ``h{k}`` ``[1, 1, H]`` and, for LSTM,
  ``c{k}`` ``[1, 1, H]`` (zeros at the start of a stream)
- outputs: ``y`` float32 ``[T]``, then the new ``h{k}`` (and ``c{k}``) as ``h{k}_out`` /
  ``c{k}_out``

The ``tcn`` takes, per dilated layer ``k``, ``s{k}`` ``[(K - 1) * dilation, C]``: the layer's
last inputs (zeros at the start), returned as ``s{k}_out``; each layer concatenates them with the
block and sums ``K`` time-shifted ``MatMul`` taps (causal, exactly as the compiled kernel of
:mod:`fxlab.runtime.tcn_kernel`), then the gated unit, the 1x1 skip and residual ``MatMul`` s, the
head and the input skip.

The knob values are a separate input, not extra columns of ``x``: a host holds its audio buffer
and its parameter values apart, so it passes the buffer as it is (no interleaving copy), the
audio input is the same with or without knobs, and a host unaware of knobs gets onnxruntime's
"missing input knobs" error instead of a shape mismatch. The graph concatenates them into the
network's own ``[T, 1, 1 + K]`` rows; the input skip adds ``x`` alone.

LSTM/GRU networks run ONNX's own ``LSTM``/``GRU`` ops, their weights reordered: ONNX's LSTM
gates run ``i, o, f, c`` where Keras's run ``i, f, c, o``; its weights are transposed
(``W [4H, I]``); its bias is ``[Wb, Rb]`` (Keras's bias, then zeros). GRU gates run ``z, r, h`` in both; Keras's ``reset_after=True`` is ONNX's
``linear_before_reset=1`` and its bias ``[2, 3H]`` is ``[Wb, Rb]``. The metadata goes in the
model's ``metadata_props`` (strings; lists such as ``knobs`` as JSON; ``fxlab`` holds it all as
JSON).

- :data:`ONNX`        the format
- :func:`to_model`    the ``onnx.ModelProto`` of a trained ``lstm``, ``gru`` or ``tcn``
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fxlab.export.base import Format, sample_level_only
from fxlab.util import atomic_write

__all__ = ["ONNX", "OPSET", "to_model"]

#: The ONNX operator set the graph declares.
OPSET = 17


def _lstm_onnx_order(w: np.ndarray) -> np.ndarray:
    """Rows of a ``[4H, ...]`` Keras-ordered (i, f, c, o) block in ONNX's order (i, o, f, c)."""
    i, f, c, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, c], axis=0)


def _tcn_graph(tm, helper, TensorProto, const):
    """Nodes, inputs and outputs of the streaming TCN (see the module docstring)."""
    from fxlab.models.base import keras_of
    from fxlab.models.tcn import tcn_spec

    spec = tcn_spec(keras_of(tm))
    c, k = spec.channels, spec.kernel
    f32 = np.float32
    nodes, ins, outs = [], [], []

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    ins.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T"]))
    x2 = node("Reshape", ["x", const("shape_t1", np.array([-1, 1], np.int64))], "x_t1")
    h = node("Add", [node("Mul", [x2, const("in_w", spec.input_w[None].astype(f32))], "h_mul"),
                     const("in_b", spec.input_b.astype(f32))], "h_0")
    skip = None
    big = np.iinfo(np.int64).max
    for layer in range(spec.n_layers):
        d = int(spec.dilations[layer])
        past = (k - 1) * d
        if past:
            ins.append(helper.make_tensor_value_info(f"s{layer}", TensorProto.FLOAT, [past, c]))
            outs.append(helper.make_tensor_value_info(f"s{layer}_out", TensorProto.FLOAT, [past, c]))
            full = node("Concat", [f"s{layer}", h], f"full_{layer}", axis=0)
            node("Slice", [full, const(f"st_{layer}", np.array([-past], np.int64)),
                           const(f"en_{layer}", np.array([big], np.int64)),
                           const(f"ax_{layer}", np.array([0], np.int64))], f"s{layer}_out")
        else:
            full = h
        z = None
        for m in range(k):  # tap m reads the layer input (k - 1 - m) * d samples ago
            end = -(k - 1 - m) * d or big
            tap = node("Slice", [full, const(f"ts_{layer}_{m}", np.array([m * d], np.int64)),
                                 const(f"te_{layer}_{m}", np.array([end], np.int64)),
                                 const(f"ta_{layer}_{m}", np.array([0], np.int64))], f"tap_{layer}_{m}")
            prod = node("MatMul", [tap, const(f"cw_{layer}_{m}", spec.conv_w[layer, m].astype(f32))],
                        f"conv_{layer}_{m}")
            z = prod if z is None else node("Add", [z, prod], f"zsum_{layer}_{m}")
        z = node("Add", [z, const(f"cb_{layer}", spec.conv_b[layer].astype(f32))], f"z_{layer}")
        filt = node("Tanh", [node("Slice", [z, const(f"fs_{layer}", np.array([0], np.int64)),
                                            const(f"fe_{layer}", np.array([c], np.int64)),
                                            const(f"fa_{layer}", np.array([1], np.int64))],
                                  f"zf_{layer}")], f"filter_{layer}")
        gate = node("Sigmoid", [node("Slice", [z, const(f"gs_{layer}", np.array([c], np.int64)),
                                               const(f"ge_{layer}", np.array([2 * c], np.int64)),
                                               const(f"ga_{layer}", np.array([1], np.int64))],
                                     f"zg_{layer}")], f"gate_{layer}")
        gated = node("Mul", [filt, gate], f"gated_{layer}")
        sk = node("MatMul", [gated, const(f"sw_{layer}", spec.skip_w[layer].astype(f32))], f"skip_{layer}")
        skip = sk if skip is None else node("Add", [skip, sk], f"skipsum_{layer}")
        if layer < spec.n_layers - 1:
            res = node("MatMul", [gated, const(f"rw_{layer}", spec.res_w[layer].astype(f32))], f"res_{layer}")
            h = node("Add", [h, node("Add", [res, const(f"rb_{layer}", spec.res_b[layer].astype(f32))],
                                     f"resb_{layer}")], f"h_{layer + 1}")
    s = node("Add", [skip, const("skip_b", spec.skip_b.astype(f32))], "skip_total")
    if spec.skip_tanh:
        s = node("Tanh", [s], "skip_tanh")
    y = node("Add", [node("MatMul", [s, const("head_w", spec.head_w[:, None].astype(f32))], "head_mm"),
                     const("head_b", np.array([spec.head_b], f32))], "head_out")
    y = node("Reshape", [y, const("shape_t", np.array([-1], np.int64))], "y_head")
    node("Add", [y, "x"], "y")
    outs.insert(0, helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T"]))
    return nodes, ins, outs


def to_model(tm, meta: dict):
    """The ONNX model of a trained ``lstm``, ``gru`` or ``tcn`` network (see the module docstring)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from fxlab import __version__
    from fxlab.models.recurrent import rnn_spec

    inits = []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    if tm.structure == "tcn":
        nodes, ins, outs = _tcn_graph(tm, helper, TensorProto, const)
        return _finish(onnx, helper, nodes, ins, outs, inits, tm, meta, __version__)
    spec = rnn_spec(tm)
    lstm = spec.cell == "lstm"
    nodes, ins, outs = [], [], []

    ins.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T"]))
    if spec.knobs:  # the audio then the knob values, one row per sample
        ins.append(helper.make_tensor_value_info("knobs", TensorProto.FLOAT, ["T", spec.knobs]))
        nodes.append(helper.make_node("Reshape", ["x", const("shape_t1", np.array([-1, 1], np.int64))],
                                      ["x_t1"]))
        nodes.append(helper.make_node("Concat", ["x_t1", "knobs"], ["x_knobs"], axis=1))
        nodes.append(helper.make_node("Reshape", ["x_knobs", const("shape_t1k", np.array(
            [-1, 1, 1 + spec.knobs], np.int64))], ["seq_0"]))
    else:
        nodes.append(helper.make_node("Reshape", ["x", const("shape_t11", np.array([-1, 1, 1], np.int64))],
                                      ["seq_0"]))
    seq = "seq_0"
    for k, (ker, rec, b, u) in enumerate(zip(spec.kernels, spec.recurrent_kernels, spec.biases,
                                              spec.units, strict=True)):
        if lstm:
            w = _lstm_onnx_order(ker.T)[None]
            r = _lstm_onnx_order(rec.T)[None]
            bias = np.concatenate([_lstm_onnx_order(b), np.zeros_like(b)])[None]
        else:
            w, r = ker.T[None], rec.T[None]
            bias = np.concatenate([b[0], b[1]])[None]
        states = [f"h{k}"] + ([f"c{k}"] if lstm else [])
        for s in states:
            ins.append(helper.make_tensor_value_info(s, TensorProto.FLOAT, [1, 1, int(u)]))
            outs.append(helper.make_tensor_value_info(f"{s}_out", TensorProto.FLOAT, [1, 1, int(u)]))
        op_inputs = [seq, const(f"W{k}", w.astype(np.float32)), const(f"R{k}", r.astype(np.float32)),
                     const(f"B{k}", bias.astype(np.float32)), "", f"h{k}"] + ([f"c{k}"] if lstm else [])
        attrs = {"hidden_size": int(u)} | ({} if lstm else {"linear_before_reset": 1})
        nodes.append(helper.make_node(spec.cell.upper(), op_inputs,
                                      [f"Y{k}"] + [f"{s}_out" for s in states], **attrs))
        nodes.append(helper.make_node("Reshape", [f"Y{k}", const(f"shape_t1h{k}", np.array([-1, 1, u], np.int64))],
                                      [f"seq_{k + 1}"]))
        seq = f"seq_{k + 1}"
    nodes.append(helper.make_node("Reshape", [seq, const("shape_th", np.array([-1, spec.units[-1]], np.int64))],
                                  ["feat"]))
    nodes.append(helper.make_node("MatMul", ["feat", const("head_w", spec.head_kernel[:, None].astype(np.float32))],
                                  ["head_mm"]))
    nodes.append(helper.make_node("Add", ["head_mm", const("head_b", np.array([spec.head_bias], np.float32))],
                                  ["head_out"]))
    y_name = "y_head" if spec.residual else "y"
    nodes.append(helper.make_node("Reshape", ["head_out", const("shape_t", np.array([-1], np.int64))], [y_name]))
    if spec.residual:
        nodes.append(helper.make_node("Add", ["y_head", "x"], ["y"]))
    outs.insert(0, helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T"]))
    return _finish(onnx, helper, nodes, ins, outs, inits, tm, meta, __version__)


def _finish(onnx, helper, nodes, ins, outs, inits, tm, meta, version):
    """The checked model of a graph, with fxlab's metadata."""
    graph = helper.make_graph(nodes, f"fxlab_{tm.name}", ins, outs, inits)
    model = helper.make_model(graph, producer_name="fxlab", producer_version=version,
                              opset_imports=[helper.make_opsetid("", OPSET)],
                              doc_string=f"{meta['architecture']} emulating {meta['effect']}")
    model.ir_version = 8
    props = {k: "" if v is None else json.dumps(v) if isinstance(v, list | dict) else str(v)
             for k, v in meta.items()}
    props["fxlab"] = json.dumps(meta)
    helper.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    return model


def _write(tm, path: Path, meta: dict) -> None:
    atomic_write(path, to_model(tm, meta).SerializeToString())


ONNX = Format(
    name="onnx", extension=".onnx",
    represents="the sample-level networks (lstm, gru, tcn), streaming (state in/out)",
    why_not=sample_level_only, write=_write,
    verified_by="onnxruntime (InferenceSession, CPU), block by block with the state carried",
)
