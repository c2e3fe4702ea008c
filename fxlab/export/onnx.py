"""ONNX: a sample-level LSTM/GRU network as a streaming graph of ONNX's own ``LSTM``/``GRU`` ops.

The graph (opset 17) takes one block and the state, and returns the block's output and the state
to pass with the next block, so a host streams it block by block exactly as fxlab's runtime does:

- inputs: ``x`` float32 ``[T]`` (any block length), then per layer ``k``: ``h{k}`` ``[1, 1, H]``
  and, for LSTM, ``c{k}`` ``[1, 1, H]`` (zeros at the start of a stream)
- outputs: ``y`` float32 ``[T]``, then the new ``h{k}`` (and ``c{k}``) as ``h{k}_out`` /
  ``c{k}_out``

Keras's weights are reordered for ONNX: ONNX's LSTM gates run ``i, o, f, c`` where Keras's run
``i, f, c, o``; its weights are transposed (``W [4H, I]``); its bias is ``[Wb, Rb]`` (Keras's
bias, then zeros). GRU gates run ``z, r, h`` in both; Keras's ``reset_after=True`` is ONNX's
``linear_before_reset=1`` and its bias ``[2, 3H]`` is ``[Wb, Rb]``. The metadata goes in the
model's ``metadata_props`` (strings; ``fxlab`` holds it all as JSON).

- :data:`ONNX`        the format
- :func:`to_model`    the ``onnx.ModelProto`` of a trained ``lstm``/``gru`` network
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fxlab.export.base import Format, recurrent_only
from fxlab.util import atomic_write

__all__ = ["ONNX", "OPSET", "to_model"]

#: The ONNX operator set the graph declares.
OPSET = 17


def _lstm_onnx_order(w: np.ndarray) -> np.ndarray:
    """Rows of a ``[4H, ...]`` Keras-ordered (i, f, c, o) block in ONNX's order (i, o, f, c)."""
    i, f, c, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, c], axis=0)


def to_model(tm, meta: dict):
    """The ONNX model of a trained ``lstm``/``gru`` network (see the module docstring)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from fxlab.models.recurrent import rnn_spec

    spec = rnn_spec(tm)
    lstm = spec.cell == "lstm"
    inits, nodes, ins, outs = [], [], [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    ins.append(helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T"]))
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
    graph = helper.make_graph(nodes, f"fxlab_{tm.name}", ins, outs, inits)
    from fxlab import __version__

    model = helper.make_model(graph, producer_name="fxlab", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)],
                              doc_string=f"{meta['architecture']} emulating {meta['effect']}")
    model.ir_version = 8
    props = {k: "" if v is None else str(v) for k, v in meta.items()}
    props["fxlab"] = json.dumps(meta)
    helper.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    return model


def _write(tm, path: Path, meta: dict) -> None:
    atomic_write(path, to_model(tm, meta).SerializeToString())


ONNX = Format(
    name="onnx", extension=".onnx",
    represents="sample-level LSTM/GRU networks (lstm, gru), any units and layers, streaming (state in/out)",
    why_not=recurrent_only, write=_write,
    verified_by="onnxruntime (InferenceSession, CPU), block by block with the state carried",
)
