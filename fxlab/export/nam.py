"""Neural Amp Modeler's ``.nam`` file: a sample-level LSTM network as NAM's ``LSTM`` architecture.

A ``.nam`` file is JSON: ``version``, ``architecture`` (``"LSTM"``), ``config`` (``input_size``,
``hidden_size``, ``num_layers``), ``weights`` (one flat list), ``sample_rate`` and ``metadata``.
The flat list holds, per layer, the matrix ``[4H, I + H]`` (input then recurrent weights, gate
rows ``i, f, g, o``: Keras's ``i, f, c, o`` order, transposed) row by row, one bias ``[4H]``, then
the layer's initial hidden and cell states ``[H]`` each (zeros here: fxlab's networks start from
silence; a NAM plugin may instead settle the state on silence when it loads the model, which
changes only the first moments of its output); then the head's weight ``[H]`` and bias ``[1]``.

NAM's LSTM has no input skip, and fxlab's ``lstm`` adds its input to the output. The exporter
folds the skip into the network: every layer gets one more hidden unit that carries the input
through (input gate and output gate held open and the forget gate shut by biases of +-30, the
cell fed ``EPS * x`` in the first layer and the unit below it in the others) and the head reads
it with weight ``1 / EPS``. That unit gives ``tanh(tanh(EPS x)) / EPS = x - (2/3) EPS**2 x**3 + ...``
per layer: within 1e-6 of ``x`` for ``|x| <= 1`` (EPS = 1e-3), so the ``.nam`` LSTM has
``H + 1`` units and reproduces fxlab's output within 1e-5 on audio in [-1, 1] in NAM's PyTorch
loader. NAM's plugins run its C++ core with fast approximations of tanh and sigmoid switched on,
and under them that unit carries ``1.0206 x_t - 0.0017 x_(t-1)`` through two layers, not ``x_t``
(+0.18 dB: the fast tanh is 0.43 % steep near 0, the fast sigmoid gives 1.0008 for an open gate
and -0.0008 for a shut one): the core, compiled to WebAssembly, plays a 2-layer ``lstm`` within
0.024 of fxlab at full scale, 0.003 of it from the network's own units. NAM has no GRU
and its WaveNet's layers differ from fxlab's ``tcn`` (one 1x1 skip convolution per layer here),
so only ``lstm`` exports to ``.nam``. A knob-conditioned network does not export to ``.nam``:
NAM's ``LSTM`` reads the audio alone (``input_size`` is its one input, and NAM's players feed it
nothing but the audio), so the file would have nowhere to take the knob values from; the JSON
formats (``aidax``, ``rtneural``), ``onnx`` and ``tflite`` carry them.

- :data:`NAM`          the format
- :func:`to_document`  the ``.nam`` JSON document of a trained ``lstm``
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np

from fxlab.export.base import Format, not_a_network
from fxlab.util import atomic_write

__all__ = ["EPS", "NAM", "NAM_FILE_VERSION", "to_document"]

#: Scale of the input on the unit that carries the input skip (see the module docstring).
EPS = 1e-3
#: Bias that holds the carrying unit's gates open (+) or shut (-).
_OPEN = 30.0
#: The ``.nam`` file version written: NAM's plugins check it, older cores accept 0.5.x only, the
#: newest 0.5.0 to 0.7.0; the LSTM layout is the same in all of them.
NAM_FILE_VERSION = "0.5.4"


def _layer_weights(ker, rec, bias, *, first: bool, carry: bool) -> np.ndarray:
    """One layer's flat weights (matrix, bias, initial h and c), with the carrying unit if ``carry``."""
    n_in, g4 = ker.shape
    h = g4 // 4
    if not carry:
        w = np.concatenate([ker.T, rec.T], axis=1)
        return np.concatenate([w.ravel(), bias, np.zeros(2 * h)])
    hp = h + 1
    in_p = n_in if first else n_in + 1
    w = np.zeros((4 * hp, in_p + hp))
    b = np.zeros(4 * hp)
    for gate in range(4):
        rows = slice(gate * hp, gate * hp + h)
        w[rows, :n_in] = ker.T[gate * h:(gate + 1) * h]
        w[rows, in_p:in_p + h] = rec.T[gate * h:(gate + 1) * h]
        b[rows] = bias[gate * h:(gate + 1) * h]
    carry_row = {g: g * hp + h for g in range(4)}  # i, f, c, o rows of the carrying unit
    b[carry_row[0]], b[carry_row[1]], b[carry_row[3]] = _OPEN, -_OPEN, _OPEN
    if first:
        w[carry_row[2], 0] = EPS
    else:
        w[carry_row[2], n_in] = 1.0  # the carrying unit of the layer below
    return np.concatenate([w.ravel(), b, np.zeros(2 * hp)])


def to_document(tm, meta: dict) -> dict:
    """The ``.nam`` document of a trained ``lstm`` network (plain JSON values)."""
    from fxlab.models.recurrent import rnn_spec

    spec = rnn_spec(tm)
    units = set(spec.units)
    carry = bool(spec.residual)
    parts = [_layer_weights(k, r, b, first=i == 0, carry=carry)
             for i, (k, r, b) in enumerate(zip(spec.kernels, spec.recurrent_kernels, spec.biases,
                                                strict=True))]
    head_w = np.concatenate([spec.head_kernel, [1.0 / EPS]]) if carry else spec.head_kernel
    parts.append(np.concatenate([head_w, [spec.head_bias]]))
    weights = np.concatenate(parts).astype(np.float32)
    now = datetime.fromisoformat(meta["date"])
    hidden = units.pop() + int(carry)
    return {
        "version": NAM_FILE_VERSION,
        "architecture": "LSTM",
        "config": {"input_size": 1, "hidden_size": int(hidden), "num_layers": len(spec.units)},
        "weights": [float(v) for v in weights],
        "sample_rate": int(meta["sample_rate"]),
        "metadata": {
            "date": {"year": now.year, "month": now.month, "day": now.day, "hour": now.hour,
                     "minute": now.minute, "second": now.second},
            "name": f"fxlab {meta['architecture']}",
            "modeled_by": "fxlab",
            "gear_type": "studio",
            "gear_model": meta["effect"],
            "training": {"validation_esr": meta["val_esr"]},
            "fxlab": meta,
        },
    }


def _why_not(tm) -> str | None:
    if tm.structure == "graybox":
        return not_a_network(tm, holds=(
            "NAM's networks (LSTM, WaveNet) or its Linear model, a finite impulse response: the "
            "emulator's recursive filters have no finite one, and its curve is not linear"))
    if tm.structure != "recurrent" or tm.cell != "lstm":
        return (f"it is a {tm.name!r} network: NAM's architectures are LSTM, WaveNet and Linear, "
                "and only fxlab's lstm maps onto one of them exactly")
    k = tm.knob_count
    if k:
        names = ", ".join(kn.name for kn in tm.knobs)
        return (f"it is conditioned on {k} knob(s) ({names}), and NAM's LSTM reads the audio alone: "
                "a .nam file has no knob inputs (train it without knobs for NAM)")
    return None


def _write(tm, path: Path, meta: dict) -> None:
    atomic_write(path, json.dumps(to_document(tm, meta)))


NAM = Format(
    name="nam", extension=".nam",
    represents="fxlab's lstm without knob inputs (any units and layers; the input skip folded into one "
               "more hidden unit)",
    why_not=_why_not, write=_write,
    verified_by="neural-amp-modeler's own loader (nam.models.init_from_nam) run in PyTorch; NAM's "
                "C++ core compiled to WebAssembly, up to its fast tanh",
)
