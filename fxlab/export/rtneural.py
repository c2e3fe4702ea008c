"""RTNeural's Keras-style model JSON, and AIDA-X's stricter use of it (``.aidax``).

The document RTNeural's JSON parser reads (``RTNeural::json_parser::parseJson``) and AIDA-X loads::

    {"in_shape": [null, null, 1 + K],      # the last entry: input features per sample
     "in_skip": 1,                         # AIDA-X: the player adds the input's audio to the output
     "layers": [
        {"type": "lstm", "activation": "", "shape": [null, null, H],
         "weights": [kernel [I][4H], recurrent_kernel [H][4H], bias [4H]]},     # gates i, f, c, o
        {"type": "gru",  ...  "weights": [kernel [I][3H], recurrent_kernel [H][3H],
                                          bias [2][3H]]},       # gates z, r, h; reset after
        {"type": "dense", "activation": "", "shape": [null, null, 1],
         "weights": [kernel [H][1], bias [1]]}],
     "metadata": {...}}                    # fxlab's (plus "samplerate"): ignored by the parsers

Weights are in Keras's own layouts and gate orders (RTNeural reads Keras's layers as they are);
``shape[-1]`` is each layer's output width; the first layer's ``I`` is ``1 + K``. AIDA-X plays one
recurrent layer of 8, 12, 16, 20, 32, 40, 64 or 80 units followed by ``Dense(1)``, with 1 to 3
inputs; RTNeural's own parser takes any stack of these layers and any input width.

**Knob inputs** (a network conditioned on ``K`` knobs, :mod:`fxlab.models.recurrent`). What AIDA-X
reads, from its sources (AidaDSP/AIDA-X: ``src/aidadsp-plugin.cpp`` ``applyModel`` and
``loadModelFromStream``, ``src/DistrhoPluginCommon.hpp`` ``kParameters``, ``src/model_variant.hpp``;
the same in AidaDSP/aidadsp-lv2 ``rt-neural-generic/src/rt-neural-generic.cpp``): the JSON names no
knob inputs at all. A parametric model is one whose ``in_shape``'s last entry is 2 or 3
(``MAX_INPUT_SIZE 3``; the model types ``ModelType_LSTM_<H>_<1|2|3>`` are picked by
``in_shape.back()``), and per sample the player feeds ``{audio, PARAM1}`` or ``{audio, PARAM1,
PARAM2}`` -- its plugin parameters ``PARAM1``/``PARAM2``, unitless, range [0, 1], default 0,
each glided by a linear smoother of 0.1 s -- and, with ``in_skip`` 1, adds ``out[i]`` (the audio
only) to the network's output. So fxlab writes ``in_shape`` ``[null, null, 1 + K]`` with the knob
columns in the network's input order (``PARAM1`` = the first knob), and states the knobs (name,
unit, range, scale, default, how a value maps to [0, 1]) in ``metadata["knobs"]``
(:func:`fxlab.export.metadata.knob_inputs`): fxlab's networks read ``Knob.normalise(value)`` in
[0, 1], which is what AIDA-X's 0-1 slider position is. AIDA-X takes at most two knobs; RTNeural any.
Also from those sources: ``in_gain``/``out_gain`` (dB) scale the audio before the network and the
sum after it (``(x g_in + model) g_out`` with the skip), and the LV2 loader reads the model's rate
from ``metadata["samplerate"]`` (48000 when absent), which fxlab writes.

- :data:`RTNEURAL`, :data:`AIDAX`   the two formats
- :data:`AIDAX_MAX_KNOBS`           the knob inputs AIDA-X feeds (2: ``PARAM1``, ``PARAM2``)
- :func:`to_document`               the JSON document of a trained LSTM/GRU network
- :func:`check_document`            the document against the schema the players parse
- :func:`run_document`              a reference reader: the document run on a signal and its knob
  values (numpy), written from RTNeural's documented layer semantics and AIDA-X's player
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fxlab.errors import ParameterError, problem
from fxlab.export.base import Format, recurrent_only
from fxlab.util import atomic_write

__all__ = ["AIDAX", "AIDAX_MAX_KNOBS", "AIDAX_UNITS", "RTNEURAL", "check_document", "run_document",
           "to_document"]

#: Hidden sizes AIDA-X has compiled models for.
AIDAX_UNITS = (8, 12, 16, 20, 32, 40, 64, 80)
#: Knob inputs AIDA-X feeds beside the audio (its parameters PARAM1 and PARAM2, each in [0, 1]).
AIDAX_MAX_KNOBS = 2
_GATES = {"lstm": 4, "gru": 3}


def to_document(tm, meta: dict) -> dict:
    """The RTNeural/AIDA-X JSON document of a trained ``lstm``/``gru`` network (plain JSON values).

    ``in_shape`` ends in ``1 + K`` (the audio, then the ``K`` knob values the network reads);
    ``metadata`` is ``meta`` plus ``samplerate`` [Hz] (the key AIDA-X's LV2 loader reads).
    """
    from fxlab.models.recurrent import rnn_spec

    spec = rnn_spec(tm)
    layers = []
    for k, rk, b, u in zip(spec.kernels, spec.recurrent_kernels, spec.biases, spec.units, strict=True):
        layers.append({"type": spec.cell, "activation": "", "shape": [None, None, int(u)],
                       "weights": [k.tolist(), rk.tolist(), b.tolist()]})
    layers.append({"type": "dense", "activation": "", "shape": [None, None, 1],
                   "weights": [spec.head_kernel[:, None].tolist(), [spec.head_bias]]})
    return {"in_shape": [None, None, 1 + spec.knobs], "in_skip": int(spec.residual), "layers": layers,
            "metadata": {**meta, "samplerate": meta.get("sample_rate")}}


def _shape(a) -> tuple:
    arr = np.asarray(a, dtype=np.float64)
    return arr.shape


def check_document(doc: dict, *, aidax: bool = False) -> list[str]:
    """The ways ``doc`` departs from what RTNeural's parser (and, with ``aidax``, AIDA-X) reads.

    Checks field names and types, every layer's type, ``shape`` and weight shapes against its
    input width (``in_shape[-1]``: the audio and the knob inputs), ``in_skip`` (0 or 1) and
    ``in_gain``/``out_gain`` (numbers, when present); for AIDA-X also its architecture (one
    LSTM/GRU layer of :data:`AIDAX_UNITS` units, then ``Dense(1)``, 1 to 3 inputs: the audio and
    up to :data:`AIDAX_MAX_KNOBS` knobs). Returns the problems found (empty: the document conforms).
    """
    bad = []
    shape = doc.get("in_shape")
    if not (isinstance(shape, list) and shape and isinstance(shape[-1], int) and shape[-1] >= 1):
        return [f"in_shape must be a list ending in the input width, found {shape!r}"]
    width = shape[-1]
    if "in_skip" in doc and doc["in_skip"] not in (0, 1):
        bad.append(f"in_skip must be 0 or 1, found {doc['in_skip']!r}")
    for key in ("in_gain", "out_gain"):
        if key in doc and not isinstance(doc[key], int | float):
            bad.append(f"{key} must be a number (dB), found {doc[key]!r}")
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        return bad + ["layers must be a non-empty list"]
    for i, layer in enumerate(layers):
        t, s, w = layer.get("type"), layer.get("shape"), layer.get("weights")
        if not (isinstance(s, list) and s and isinstance(s[-1], int) and s[-1] >= 1):
            bad.append(f"layer {i}: shape must end in the layer's width, found {s!r}")
            continue
        out = s[-1]
        if t in _GATES:
            g = _GATES[t]
            want = [(width, g * out), (out, g * out), (g * out,) if t == "lstm" else (2, g * out)]
        elif t in ("dense", "time-distributed-dense"):
            want = [(width, out), (out,)]
            if layer.get("activation", "") not in ("", "tanh", "relu", "sigmoid"):
                bad.append(f"layer {i}: activation {layer.get('activation')!r} is not one RTNeural parses")
        else:
            bad.append(f"layer {i}: type {t!r} is not lstm, gru or dense")
            continue
        if not isinstance(w, list) or len(w) != len(want):
            bad.append(f"layer {i} ({t}): weights must be a list of {len(want)} arrays")
            continue
        for j, (arr, ws) in enumerate(zip(w, want, strict=True)):
            try:
                got = _shape(arr)
            except ValueError:
                got = "ragged"
            if got != ws:
                bad.append(f"layer {i} ({t}): weights[{j}] has shape {got}, expected {ws}")
        width = out
    if aidax:
        kinds = [layer.get("type") for layer in layers]
        if len(layers) != 2 or kinds[0] not in _GATES or kinds[1] != "dense":
            bad.append(f"AIDA-X plays one lstm/gru layer then one dense layer, found {kinds}")
        elif layers[0]["shape"][-1] not in AIDAX_UNITS:
            bad.append(f"AIDA-X has no model of {layers[0]['shape'][-1]} units (it has {AIDAX_UNITS})")
        if not 1 <= shape[-1] <= 1 + AIDAX_MAX_KNOBS:
            bad.append(f"AIDA-X takes 1 to {1 + AIDAX_MAX_KNOBS} inputs (the audio, then PARAM1 and "
                       f"PARAM2), found {shape[-1]}")
        if width != 1:
            bad.append(f"AIDA-X needs one output, found {width}")
    return bad


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def run_document(doc: dict, x: np.ndarray, knobs=None) -> np.ndarray:
    """Run an RTNeural/AIDA-X document over a signal from a zero state, as a player would.

    Layer semantics as RTNeural documents them for Keras models (float64 here): LSTM
    ``[i f c o] = x W + h U + b``, ``c = sig(f) c + sig(i) tanh(c~)``, ``h = sig(o) tanh(c)``;
    GRU ``z, r = sig(x W + b[0] + h U + b[1])`` (their thirds), ``c~ = tanh(x W_h + b[0]_h +
    r (h U_h + b[1]_h))``, ``h = (1 - z) c~ + z h``; dense ``y = x W + b`` then its activation.
    Then AIDA-X's player (``applyModel``): the audio scaled by ``in_gain`` (dB) goes in with the
    knob values beside it, ``y = model(...)``, plus the scaled audio when ``in_skip`` is 1, all
    times ``out_gain`` (dB).

    Parameters
    ----------
    doc : dict
        A document that :func:`check_document` finds no problem with.
    x : np.ndarray [shape=(n,)]
        The audio.
    knobs : None or array_like [shape=(n, K) or (K,)]
        The ``K = in_shape[-1] - 1`` knob inputs, normalised to [0, 1], per sample (or one row
        held over the signal): AIDA-X's ``PARAM1``, ``PARAM2``. None for a document of one input.

    Returns
    -------
    np.ndarray [shape=(n,)], float32

    Raises
    ------
    ParameterError
        Knob values of the wrong shape for the document's inputs.
    """
    x = np.asarray(x, np.float64).reshape(-1)
    k = int(doc["in_shape"][-1]) - 1
    kn = np.zeros((x.size, 0)) if knobs is None else np.asarray(knobs, np.float64)
    if kn.ndim == 1 and kn.size == k:
        kn = np.broadcast_to(kn, (x.size, k))
    if kn.shape != (x.size, k):
        raise ParameterError(problem(
            "knob values for the document", found=f"shape {kn.shape}",
            expected=f"({x.size}, {k}): one row of {k} normalised knob value(s) per sample "
                     f"(in_shape ends in {k + 1})",
            fix="pass knobs= the network's knob columns" if k else "leave knobs out"))
    audio = x * 10.0 ** (float(doc.get("in_gain", 0.0)) / 20.0)
    seq = np.concatenate([audio[:, None], kn], axis=1)
    for layer in doc["layers"]:
        t = layer["type"]
        w = [np.asarray(a, np.float64) for a in layer["weights"]]
        if t in ("dense", "time-distributed-dense"):
            seq = seq @ w[0] + w[1]
            act = layer.get("activation", "")
            seq = {"": lambda v: v, "tanh": np.tanh, "relu": lambda v: np.maximum(v, 0),
                   "sigmoid": _sigmoid}[act](seq)
            continue
        units = w[1].shape[0]
        h = np.zeros(units)
        out = np.empty((seq.shape[0], units))
        if t == "lstm":
            xw = seq @ w[0] + w[2]
            c = np.zeros(units)
            for n in range(seq.shape[0]):
                g = xw[n] + h @ w[1]
                i, f, cc, o = np.split(g, 4)
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(cc)
                h = _sigmoid(o) * np.tanh(c)
                out[n] = h
        else:
            xw = seq @ w[0] + w[2][0]
            for n in range(seq.shape[0]):
                hu = h @ w[1] + w[2][1]
                z = _sigmoid(xw[n, :units] + hu[:units])
                r = _sigmoid(xw[n, units:2 * units] + hu[units:2 * units])
                cc = np.tanh(xw[n, 2 * units:] + r * hu[2 * units:])
                h = (1.0 - z) * cc + z * h
                out[n] = h
        seq = out
    y = seq[:, 0]
    if doc.get("in_skip", 0):
        y = y + audio
    y = y * 10.0 ** (float(doc.get("out_gain", 0.0)) / 20.0)
    return y.astype(np.float32)


def _write(tm, path: Path, meta: dict, *, aidax: bool) -> None:
    doc = to_document(tm, meta)
    if aidax:  # which of the player's parameters sets each knob
        doc["metadata"]["knobs"] = [{**k, "aidax_parameter": f"PARAM{k['input']}"}
                                    for k in doc["metadata"].get("knobs") or []]
    bad = check_document(doc, aidax=aidax)
    if bad:  # to_document builds what the checks expect: a failure here is fxlab's own bug
        raise ParameterError(problem(f"the {'AIDA-X' if aidax else 'RTNeural'} document of {tm.path}",
                                     found="; ".join(bad), expected="a conforming document",
                                     fix="report it: the exporter and its checks disagree"))
    atomic_write(path, json.dumps(doc))


def _aidax_why_not(tm) -> str | None:
    reason = recurrent_only(tm)
    if reason:
        return reason
    k = tm.knob_count
    if k > AIDAX_MAX_KNOBS:
        names = ", ".join(kn.name for kn in tm.knobs)
        return (f"AIDA-X feeds at most {AIDAX_MAX_KNOBS} knob inputs (its PARAM1 and PARAM2), and this "
                f"network reads {k} ({names}): condition it on at most {AIDAX_MAX_KNOBS} knobs, or "
                "export --format rtneural (any number of inputs)")
    mcfg = tm.config["model"]
    if mcfg.get("layers", 1) != 1 or mcfg.get("units") not in AIDAX_UNITS:
        return (f"AIDA-X plays one LSTM/GRU layer of {', '.join(map(str, AIDAX_UNITS))} units, and "
                f"this one has {mcfg.get('layers')} layer(s) of {mcfg.get('units')} units "
                "(retrain with --layers 1 --units 32, or export --format rtneural)")
    return None


RTNEURAL = Format(
    name="rtneural", extension=".json",
    represents="sample-level LSTM/GRU networks (lstm, gru), any units and layers, any knob inputs",
    why_not=recurrent_only, write=lambda tm, p, m: _write(tm, p, m, aidax=False),
    verified_by="schema of RTNeural's JSON parser + fxlab's numpy reference reader of its layers",
)
AIDAX = Format(
    name="aidax", extension=".aidax",
    represents=f"one-layer LSTM/GRU networks of {', '.join(map(str, AIDAX_UNITS))} units, "
               f"with up to {AIDAX_MAX_KNOBS} knob inputs (PARAM1, PARAM2)",
    why_not=_aidax_why_not, write=lambda tm, p, m: _write(tm, p, m, aidax=True),
    verified_by="schema of AIDA-X's loader + fxlab's numpy reference reader (in_skip applied)",
)
