"""The gray-box emulator as a small JSON any DSP host can implement (``.graybox.json``).

fxlab's ``graybox`` (:mod:`fxlab.models.graybox`) is not a network: a cascade of biquads (a
parametric EQ) and, in its Wiener--Hammerstein form, a drive gain and a static curve between two
such EQs. The network formats (AIDA-X/RTNeural JSON, ``.nam``, ONNX, TFLite) hold layers and
their weights, so they refuse it (:mod:`fxlab.export.base`); this format holds it exactly: every
section's coefficients, normalised ``a0 = 1``, beside what an engineer reads (kind, Hz, dB, Q),
and the curve's parameters with its formula written out. A host needs nothing else: five
multiply-adds per section and sample, and ``tanh``.

Document (version :data:`FORMAT_VERSION`)::

    {"format": "fxlab-graybox", "version": 1, "sample_rate": 44100,
     "structure": "linear" | "wiener-hammerstein",
     "precision": {...: float64 transposed direct form II recommended, and why},
     "formulas": {"biquad": ..., "eq": ..., "drive": ..., "shaper": ...},
     "chain": [                                   # in processing order
        {"block": "delay", "samples": n},         # only when the emulator delays its input
        {"block": "eq", "name": "pre" | "post" | "eq", "output_gain": g, "output_gain_db": ...,
         "sections": [{"kind": "hp1" | "lp1" | "lowshelf" | "highshelf" | "peak", "freq_hz": ...,
                       "depth": ... (hp1, lp1) | "gain_db": ..., "q": ... (the others),
                       "b0": ..., "b1": ..., "b2": ..., "a1": ..., "a2": ...}, ...]},
        {"block": "drive", "gain": g, "gain_db": ...},
        {"block": "shaper", "l": ..., "c": [...], "w": [...], "d": [...]},
        {"block": "eq", "name": "post", ...}],
     "knobs": [...],                              # a conditioned emulator's knob inputs, else []
     "chain_at": {knob: value},                   # the setting "chain" is taken at (the defaults)
     "settings": [{"source": "trained" | "held out" | "grid", "knobs": {knob: value},
                   "inputs": [u, ...], "chain": [...]}, ...],
     "controller": null | {"formula": ..., "theta": [P], "A": [K][P], "W1": [K][H], "b1": [H],
                           "W2": [H][P], "theta_layout": {...}, "maps": {...}, "sections": {...}},
     "metadata": {...}}                           # fxlab.export.metadata.model_metadata

A knob-conditioned emulator (``knobs=K``) computes its parameters from the knobs through a small
controller. ``settings`` tabulates the whole chain at the settings it was trained and validated
at (the run's data manifest), else at a grid over every knob: a host with fixed positions, or one
that switches between presets, reads it as it is. ``controller`` gives the exact map for any
setting: the weights ``theta(k)`` from the normalised knob values, where each weight sits
(``theta_layout``), how a weight becomes a frequency, gain, Q or curve parameter (``maps``) and a
section its coefficients (``sections``: the Audio EQ Cookbook, and the first-order sections in
closed form).

- :data:`GRAYBOX`        the format
- :func:`to_document`    the document of a trained ``graybox``
- :func:`card_lines`     the model card's lines on what the emulator is and how to run it
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from fxlab.export.base import Format
from fxlab.export.metadata import knob_inputs, run_manifest
from fxlab.util import atomic_write, jsonable

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "GRAYBOX", "SETTINGS_MAX", "card_lines", "to_document"]

#: The document's ``format`` and ``version``.
FORMAT_NAME, FORMAT_VERSION = "fxlab-graybox", 1
#: At most so many settings in a conditioned emulator's grid table (values per knob chosen so).
SETTINGS_MAX = 125

_FORMULAS = {
    "biquad": "one section, transposed direct form II, a0 = 1, two state values s1, s2 (zero at the "
              "start): y = b0*x + s1; s1 = b1*x - a1*y + s2; s2 = b2*x - a2*y "
              "(= scipy.signal.sosfilt with the row [b0, b1, b2, 1, a1, a2])",
    "eq": "the sections in the listed order, each fed the previous one's output, then times output_gain",
    "drive": "u = gain * x",
    "shaper": "f(u) = l*u + sum_k c[k] * (tanh(w[k]*u + d[k]) - tanh(d[k])), k over the units; "
              "f(0) = 0",
}
_PRECISION = {
    "recommended": "float64",
    "structure": "transposed direct form II biquads (one state pair per section, carried from "
                 "block to block)",
    "why": "fxlab's runtime runs exactly this in float64; a section whose poles sit close to DC "
           "(a high-pass or low shelf at a few Hz) loses accuracy in float32 direct forms",
}


def _section_entries(sos: np.ndarray, readable: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per section: what an engineer reads, then its coefficients (``a0 = 1``)."""
    return [{**sec, "b0": float(row[0]), "b1": float(row[1]), "b2": float(row[2]),
             "a1": float(row[4]), "a2": float(row[5])}
            for sec, row in zip(readable, sos, strict=True)]


def _chain(spec, knobs, sr: int) -> list[dict[str, Any]]:
    """The blocks in processing order at one setting (normalised knob values, or None)."""
    blocks, readable = spec.blocks(knobs), spec.readable(knobs, sr=sr)

    def eq(name):
        sos, gain = blocks[name]
        return {"block": "eq", "name": name, "output_gain": float(gain),
                "output_gain_db": float(readable[name]["gain_db"]),
                "sections": _section_entries(sos, readable[name]["sections"])}

    delay = [{"block": "delay", "samples": int(spec.delay)}] if spec.delay else []
    if not spec.shaper:
        return [*delay, eq("eq")]
    lin, c, w, d = blocks["shaper"]
    return [*delay, eq("pre"),
            {"block": "drive", "gain": float(blocks["drive"]), "gain_db": float(readable["drive_db"])},
            {"block": "shaper", "units": int(spec.shaper), "l": float(lin), "c": c.tolist(),
             "w": w.tolist(), "d": d.tolist()},
            eq("post")]


def _recorded_settings(tm) -> list[tuple[str, dict[str, float]]]:
    """The settings of the run's data manifest (trained, then held out), each completed with the
    defaults of knobs it leaves out; ``[]`` when the folder is not in a run that recorded them."""
    cond = (run_manifest(tm) or {}).get("conditioning") or {}
    names = {k.name for k in tm.knobs}
    out = []
    for source, key in (("trained", "train_settings"), ("held out", "val_settings")):
        for setting in cond.get(key) or ():
            if set(setting) <= names:
                out.append((source, {k.name: float(setting.get(k.name, k.default)) for k in tm.knobs}))
    return out


def _grid_settings(tm) -> list[tuple[str, dict[str, float]]]:
    """Every combination of ``n`` values per knob, ``n`` as large as :data:`SETTINGS_MAX` allows
    (at most 5, at least 2)."""
    k = len(tm.knobs)
    n = max(2, min(5, int(round(SETTINGS_MAX ** (1.0 / k), 6))))
    grids = [knob.grid(n) for knob in tm.knobs]
    return [("grid", {knob.name: float(v) for knob, v in zip(tm.knobs, combo, strict=True)})
            for combo in itertools.product(*grids)]


def _settings_table(tm, spec, sr: int) -> list[dict[str, Any]]:
    """The chain at each recorded setting (else at the grid): what a host with presets reads."""
    table = []
    for source, setting in _recorded_settings(tm) or _grid_settings(tm):
        u = [float(k.normalise(setting[k.name])) for k in tm.knobs]
        table.append({"source": source, "knobs": setting, "inputs": u,
                      "chain": _chain(spec, np.array(u), sr)})
    return table


def _theta_layout(spec) -> dict[str, Any]:
    """Where each weight sits in ``theta``: per EQ, per section the indices of its frequency,
    gain (or depth) and Q weights, and the output gain's; the drive's; the curve's."""
    from fxlab.models import graybox

    idx = graybox._unpack(np.arange(graybox.n_params(spec.cfg)), spec.cfg)
    out: dict[str, Any] = {}
    for name in ("eq", "pre", "post"):
        if name in idx:
            ix = idx[name]
            out[name] = {"sections": [{"kind": kind, "freq": int(ix[3 * i]), "gain": int(ix[3 * i + 1]),
                                       "q": int(ix[3 * i + 2])}
                                      for i, kind in enumerate(graybox.layout(spec.sections))],
                         "output_gain": int(ix[3 * spec.sections])}
    if spec.shaper:
        out["drive"] = int(idx["drive"])
        out["shaper"] = {"l": int(idx["lin"]), "c": idx["c"].tolist(), "w": idx["w"].tolist(),
                         "d": idx["d"].tolist()}
    return out


def _controller(spec) -> dict[str, Any]:
    """The exact map from knob values to every block's parameters (see the module text)."""
    from fxlab.models import graybox as g

    span_f, span_q = f"ln({g.F_MAX:g} / {g.F_MIN:g})", f"ln({g.Q_MAX:g} / {g.Q_MIN:g})"
    return {
        "formula": "theta(k) = theta + k A + tanh(k W1 + b1) W2, k the row of the normalised knob "
                   "values [K] (the knobs list's order), tanh per element; theta [P], A [K][P], "
                   "W1 [K][H], b1 [H], W2 [H][P]",
        "theta": spec.theta.tolist(), "A": spec.a.tolist(), "W1": spec.w1.tolist(),
        "b1": spec.b1.tolist(), "W2": spec.w2.tolist(),
        "theta_layout": _theta_layout(spec),
        "maps": {
            "sigmoid": "sigmoid(r) = 1 / (1 + exp(-r))",
            "freq_hz": f"sample_rate * {g.F_MIN:g} * exp({span_f} * sigmoid(r))",
            "gain_db": f"{g.GAIN_MAX_DB:g} * tanh(r)   (lowshelf, highshelf, peak)",
            "depth": "min(max(r, 0), 1)   (hp1, lp1: their 'gain' weight)",
            "q": f"{g.Q_MIN:g} * exp({span_q} * sigmoid(r))   (unused by hp1, lp1)",
            "output_gain": "10 ** min(max(r, -6), 6)", "drive_gain": "10 ** min(max(r, -6), 6)",
            "shaper": "l = r, c = r, d = r, w = exp(min(max(r, -8), 8))",
        },
        "sections": {
            "peak": "RBJ Audio EQ Cookbook peakingEQ at (freq_hz, gain_db, q)",
            "lowshelf": "RBJ Audio EQ Cookbook lowShelf at (freq_hz, gain_db, q) (its Q form)",
            "highshelf": "RBJ Audio EQ Cookbook highShelf at (freq_hz, gain_db, q) (its Q form)",
            "hp1": "1 - depth * L(z), L the first-order Butterworth low-pass at freq_hz (bilinear, "
                   "pre-warped: K = tan(pi f / sample_rate), L = K (1 + z^-1) / ((1 + K) + (K - 1) z^-1)); "
                   "depth 1: the first-order high-pass",
            "lp1": "1 - depth * H(z), H the first-order Butterworth high-pass at freq_hz "
                   "(H = (1 - z^-1) / ((1 + K) + (K - 1) z^-1)); depth 1: the first-order low-pass",
            "hp2": "1 + depth * (P(z) - 1), P the RBJ Audio EQ Cookbook HPF at (freq_hz, q): "
                   "numerator a + depth * (b - a) over P's denominator a",
            "lp2": "1 + depth * (P(z) - 1), P the RBJ Audio EQ Cookbook LPF at (freq_hz, q): "
                   "numerator a + depth * (b - a) over P's denominator a",
        },
    }


def to_document(tm, meta: dict) -> dict:
    """The JSON document of a trained ``graybox`` (plain JSON values; layout in the module text).

    ``chain`` is the emulator at the knobs' defaults (a conditioned one) or as it is; a
    conditioned emulator adds ``settings`` and ``controller``.
    """
    from fxlab.models.graybox import spec_of

    spec = spec_of(tm)
    sr = int(meta["sample_rate"])
    defaults = np.array([k.normalise(k.default) for k in tm.knobs]) if spec.knobs else None
    return jsonable({
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "sample_rate": sr,
        "structure": "wiener-hammerstein" if spec.shaper else "linear",
        "precision": _PRECISION,
        "formulas": _FORMULAS,
        "chain": _chain(spec, defaults, sr),
        "knobs": knob_inputs(tm),
        "chain_at": {k.name: float(k.default) for k in tm.knobs},
        "settings": _settings_table(tm, spec, sr) if spec.knobs else [],
        "controller": _controller(spec) if spec.knobs else None,
        "metadata": meta,
    })


def _why_not(tm) -> str | None:
    if tm.structure == "graybox":
        return None
    return (f"it is a {tm.name!r} network, and this format holds fxlab's gray-box emulator only "
            "(biquads and a static curve, no layers)")


def _write(tm, path: Path, meta: dict) -> None:
    atomic_write(path, json.dumps(to_document(tm, meta), indent=1) + "\n")


def _eq_table(eq: dict[str, Any]) -> list[str]:
    """One EQ as a Markdown table: kind, Hz, dB, Q (or depth)."""
    lines = ["| section | kind | frequency | gain | Q / depth |", "|---|---|---|---|---|"]
    for i, s in enumerate(eq["sections"], 1):
        if "depth" in s:
            gain, q = "—", f"depth {s['depth']:.3g}" + (" (off)" if s["depth"] == 0 else "")
        else:
            gain, q = f"{s['gain_db']:+.2f} dB", f"Q {s['q']:.3g}"
        lines.append(f"| {i} | {s['kind']} | {s['freq_hz']:.1f} Hz | {gain} | {q} |")
    return lines + ["", f"Output gain {eq['output_gain_db']:+.2f} dB."]


def card_lines(tm, meta: dict[str, Any]) -> list[str]:
    """The card's sections on a gray-box emulator: what it is (its EQ in Hz/dB/Q, its drive and
    curve) and how to run it (fxlab, or a host from the JSON)."""
    from fxlab.models.graybox import spec_of

    spec = spec_of(tm)
    sr = int(meta["sample_rate"])
    defaults = np.array([k.normalise(k.default) for k in tm.knobs]) if spec.knobs else None
    chain = _chain(spec, defaults, sr)
    at = (" at the knobs' defaults (" + ", ".join(f"{k.name} = {k.default:g}" for k in tm.knobs)
          + ")") if spec.knobs else ""
    what = ("a parametric EQ" if not spec.shaper else
            "a Wiener-Hammerstein chain: EQ, drive gain, a static curve, EQ")
    lines = ["", "## What it is", "",
             f"A traditional effect emulator, not a network: {what}, fitted to the data by fxlab "
             f"(closed-form fit, then gradient descent). Its parameters{at}:"]
    for block in chain:
        if block["block"] == "eq":
            title = {"eq": "EQ", "pre": "EQ before the curve", "post": "EQ after the curve"}[block["name"]]
            lines += ["", f"**{title}** ({len(block['sections'])} sections, in order):", "",
                      *_eq_table(block)]
        elif block["block"] == "drive":
            lines += ["", f"**Drive**: {block['gain_db']:+.2f} dB into the curve."]
        elif block["block"] == "delay":
            lines += ["", f"**Delay**: {block['samples']} samples before everything else."]
        else:
            lines += ["", f"**Curve**: `{_FORMULAS['shaper']}` with {block['units']} tanh units, "
                      f"linear term l = {block['l']:.4g}."]
    if spec.knobs:
        lines += ["", "The knobs move every parameter through a small controller; the JSON tabulates "
                  "the whole chain at the trained settings (or a grid) and gives the controller's "
                  "exact formula for any other setting."]
    lines += ["", "## How to run it", "",
              "- **In fxlab**: `fxlab.training.load_trained(folder).predict(x)` (a whole signal) or "
              "`.processor()` (block by block, state carried; `set_knobs(...)` for a conditioned one).",
              "- **In any DSP host**: the `.graybox.json` file. Run `chain` in order: each EQ's "
              "sections as biquads (`b0 b1 b2 a1 a2`, `a0 = 1`), transposed direct form II in "
              "float64, one state pair per section kept from block to block, then its output gain; "
              "the drive gain; the curve `f(u)` per sample. `formulas` states each step; with "
              "scipy: `scipy.signal.sosfilt` on rows `[b0, b1, b2, 1, a1, a2]`, then `np.tanh`. "
              f"Play it at {sr} Hz (the coefficients are for that rate)."]
    return lines


GRAYBOX = Format(
    name="graybox", extension=".graybox.json",
    represents="fxlab's gray-box emulator (graybox: biquad EQ, drive and static curve; with knobs, "
               "its controller and a table of settings)",
    why_not=_why_not, write=_write,
    verified_by="a numpy/scipy implementation of the JSON alone (scipy.signal.sosfilt, np.tanh)",
    card=card_lines,
)
