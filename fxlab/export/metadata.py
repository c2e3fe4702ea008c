"""What travels with an exported model: its metadata and the Markdown model card written beside it.

- :func:`model_metadata`   sample rate, effect, data manifest hash, held-out ESR, fxlab version, date,
  and a conditioned network's knob inputs (a dict of plain JSON values; each format stores it in
  the fields it has for it)
- :func:`knob_inputs`      the knob inputs of a conditioned network: name, unit, range, scale,
  default and how a host maps a knob's value to the input (:data:`TO_INPUT`)
- :func:`measure_cost`     CPU seconds per second of audio at 64-sample blocks (fxlab's runtime)
- :func:`model_card`       the card's Markdown text (plus what the formats holding the model say
  of it: the gray-box emulator's EQ and how to run it, :func:`fxlab.export.graybox.card_lines`)
- :func:`run_manifest`     the data manifest of the run a model folder sits in
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BLOCK", "TO_INPUT", "knob_inputs", "measure_cost", "model_card", "model_metadata",
           "run_manifest"]

#: Block size [samples] at which the card states the CPU cost (a live plugin's block).
BLOCK = 64

#: How a host maps a knob's value ``v`` to the network's input ``u`` in [0, 1], per knob scale
#: (:meth:`fxlab.effects.Knob.normalise`): ``low`` -> 0, ``high`` -> 1.
TO_INPUT = {"linear": "u = (v - low) / (high - low)",
            "log": "u = ln(v / low) / ln(high / low)"}


def run_manifest(tm) -> dict | None:
    """The data manifest of the run the model folder sits in (``<run>/data/manifest.json``, when
    the folder is ``<run>/models/<name>``), or ``None``."""
    manifest = Path(tm.path).parent.parent / "data" / "manifest.json"
    return json.loads(manifest.read_text()) if manifest.is_file() else None


def _effect_of(tm) -> str | None:
    """What the model emulates: the run's data manifest (:func:`run_manifest`) or the dry/wet
    pair of ``fxlab train`` (``pair.json``)."""
    manifest = run_manifest(tm)
    if manifest is not None:
        spec = manifest.get("effect")
        if isinstance(spec, dict):
            params = spec.get("params") or {}
            args = ", ".join(f"{k}={v}" for k, v in params.items())
            name = spec.get("name", "effect")
            return f"{name} ({args})" if args else str(name)
        if spec:
            return str(spec)
    pair = tm.path / "pair.json"
    if pair.exists():
        info = json.loads(pair.read_text())
        return f"the recorded pair {Path(info['dry']).name} -> {Path(info['wet']).name}"
    return None


def knob_inputs(tm) -> list[dict[str, Any]]:
    """The knob inputs of a conditioned network, in input order (``[]`` when it has none).

    Returns
    -------
    list of dict
        Per knob: ``input`` (its channel: 1..K, channel 0 is the audio), ``name``, ``unit``,
        ``low``, ``high``, ``scale`` (``"linear"``/``"log"``), ``default`` (in the knob's unit),
        ``default_input`` (the default normalised: what the network reads at the default) and
        ``to_input`` (:data:`TO_INPUT` of its scale: the value a host feeds).
    """
    return [{"input": 1 + i, "name": k.name, "unit": k.unit, "low": float(k.low), "high": float(k.high),
             "scale": k.scale, "default": float(k.default),
             "default_input": float(k.normalise(k.default)), "to_input": TO_INPUT[k.scale]}
            for i, k in enumerate(tm.knobs)]


def model_metadata(tm) -> dict[str, Any]:
    """The metadata every export carries, read from a model folder.

    Parameters
    ----------
    tm : fxlab.training.TrainedModel

    Returns
    -------
    dict
        ``name``, ``architecture`` (e.g. ``"lstm 1x32"``), ``sample_rate`` [Hz], ``effect`` (str
        or None), ``data_manifest_hash``, ``val_esr`` (held-out ESR at the best epoch, or None),
        ``fxlab_version``, ``date`` (UTC, ISO 8601), ``input_skip`` (whether the input's audio
        is added to the network's output; never for the gray-box emulator), ``knobs`` (:func:`knob_inputs`: ``[]`` for an
        unconditioned network), ``input_range`` (the training input's peak and 50 ms level
        percentiles, dBFS: louder input is extrapolation; ``{}`` when not recorded),
        ``latency_removed_samples`` (a capture's measured latency that was removed before
        training: the model answers that many samples earlier than the gear; ``None`` for a
        study model).
    """
    from fxlab import __version__

    cfg, summ = tm.config, tm.summary
    mcfg = cfg["model"]
    best = summ.get("best", {})
    esr_keys = sorted(k for k in best if k.endswith("_esr"))
    val_esr = best.get("val1_esr", best.get("val_esr", best[esr_keys[0]] if esr_keys else None))
    if "units" in mcfg and "layers" in mcfg:
        arch = f"{tm.name} {mcfg['layers']}x{mcfg['units']}"
    elif "channels" in mcfg:
        arch = (f"{tm.name} {mcfg['stacks'] * mcfg['layers']} layers x {mcfg['channels']} channels, "
                f"kernel {mcfg['kernel']}")
    elif tm.structure == "graybox":
        eq = f"EQ of {mcfg['sections']} sections"
        arch = (f"{tm.name} ({eq})" if not mcfg.get("shaper") else
                f"{tm.name} (Wiener-Hammerstein: {eq} -> drive -> {mcfg['shaper']} tanh units -> {eq})")
    else:
        arch = tm.name
    knobs = knob_inputs(tm)
    if knobs:
        arch += f" reading {len(knobs)} knob{'s' if len(knobs) > 1 else ''} ({', '.join(k['name'] for k in knobs)})"
    return {
        "name": tm.name,
        "architecture": arch,
        "sample_rate": int(tm.sr),
        "effect": _effect_of(tm),
        "data_manifest_hash": cfg.get("data_manifest_hash") or summ.get("data_manifest_hash"),
        "val_esr": None if val_esr is None else float(val_esr),
        "fxlab_version": __version__,
        "trained_with_fxlab": cfg.get("fxlab_version"),
        "date": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "input_skip": tm.family == "sample" and tm.structure != "graybox",
        "knobs": knobs,
        "input_range": dict(cfg.get("input_range") or {}),
        "latency_removed_samples": _latency_removed(tm),
    }


def _latency_removed(tm) -> int | None:
    """A capture's removed latency, from its ``pair.json`` (``None`` for other models)."""
    pair = Path(tm.path) / "pair.json"
    if not pair.is_file():
        return None
    return int(json.loads(pair.read_text()).get("latency_samples", 0))


def measure_cost(tm, *, seconds: float = 1.0, seed: int = 0) -> dict[str, Any] | None:
    """CPU time per second of audio when ``tm`` runs block by block at :data:`BLOCK` samples.

    One warm-up pass, then the median of three timed passes over ``seconds`` of white noise
    through :meth:`TrainedModel.processor` (its default engine). Returns ``None`` for windowed
    models (a window of forward steps per sample: seconds of CPU per second of audio, see the
    run's ``latency.json``).

    Returns
    -------
    dict or None
        ``engine``, ``block`` [samples], ``cpu_s_per_audio_s`` (the real-time factor: below 1
        keeps up), ``latency_ms`` (one block's duration, the delay a plugin adds).
    """
    if tm.family != "sample":
        return None
    proc = tm.processor()
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, int(seconds * tm.sr)).astype(np.float32)
    n = x.size // BLOCK * BLOCK
    times = []
    for _ in range(4):
        proc.reset()
        t0 = time.process_time()
        for i in range(0, n, BLOCK):
            proc.process(x[i:i + BLOCK])
        times.append(time.process_time() - t0)
    rtf = float(np.median(times[1:])) / (n / tm.sr)
    return {"engine": getattr(proc, "engine_name", type(proc).__name__), "block": BLOCK,
            "cpu_s_per_audio_s": rtf, "latency_ms": 1000.0 * BLOCK / tm.sr}


def _knob_card(knobs: list[dict[str, Any]], files: dict[str, Path], *, graybox: bool = False) -> list[str]:
    """The card's section on a conditioned model's knob inputs (nothing when it has none)."""
    if not knobs:
        return []
    mapping = ("A host maps a knob's value `v` to its input `u` so: linear knob `u = (v - low) / (high - low)`; "
               "log knob `u = ln(v / low) / ln(high / low)` (`low` -> 0, `high` -> 1).")
    if graybox:
        intro = (f"The emulator's parameters follow {len(knobs)} knob value(s), each normalised to "
                 f"[0, 1] on the knob's scale (the controller's `k`). {mapping}")
    else:
        intro = (f"The network reads {1 + len(knobs)} values per sample: the audio (input 0), then "
                 f"{len(knobs)} knob value(s), each normalised to [0, 1] on the knob's scale. {mapping} "
                 "The input skip adds the audio alone to the output.")
    lines = ["", "## Knob inputs", "", intro, "",
             "| input | knob | range | scale | default (input) | the host feeds |", "|---|---|---|---|---|---|"]
    for k in knobs:
        unit = f" {k['unit']}" if k["unit"] else ""
        lines.append(f"| {k['input']} | `{k['name']}` | [{k['low']:g}, {k['high']:g}]{unit} | {k['scale']} | "
                     f"{k['default']:g}{unit} ({k['default_input']:.4g}) | `{k['to_input']}` |")
    lines += ["", "fxlab's own runtime glides a moved knob over 10 ms (one pole on the normalised value); "
              "at a steady setting every format's output equals fxlab's."]
    if "aidax" in files:
        params = ", ".join(f"`PARAM{k['input']}` = `{k['name']}`" for k in knobs)
        lines += ["", f"**In AIDA-X**: {params}. AIDA-X's PARAM sliders run from 0 to 1 and start at 0 "
                  "(each knob's *low* end, not its default); a slider position `p` is the knob's normalised "
                  "value, so it plays the setting `v = low + p (high - low)` (linear knob) or "
                  "`v = low (high / low)^p` (log knob). AIDA-X glides a moved slider linearly over 0.1 s."]
    for fmt, what in (("onnx", "ONNX: input `knobs` `[T, K]` beside `x` `[T]`"),
                      ("tflite", "TFLite: input `knobs` `[1, T, K]` beside `x` `[1, T, 1]`")):
        if fmt in files:
            lines += ["", f"**{what}**: one row of the {len(knobs)} normalised values per audio sample."]
    return lines


def _range_card(meta: dict[str, Any]) -> list[str]:
    """The card's lines on the input level range and a capture's removed latency."""
    lines = []
    rng = meta.get("input_range") or {}
    if "peak_dbfs" in rng:
        lines.append(f"- **Input level range**: trained on inputs up to {rng['peak_dbfs']:+.1f} dBFS "
                     f"peak (50 ms levels {rng.get('active_p5_dbfs', float('nan')):+.1f} to "
                     f"{rng.get('active_p95_dbfs', float('nan')):+.1f} dBFS); louder input is "
                     "extrapolation (fxlab's processor warns once)")
    lat = meta.get("latency_removed_samples")
    if lat:
        lines.append(f"- **Latency**: the captured gear answered {lat} samples late; that latency "
                     "was removed before training, so the model answers at once, in step with "
                     f"its input. To line it up with the gear's own recording (a null test, "
                     f"layering), delay the model's output by {lat} samples; a dry/wet blend "
                     "needs no delay")
    elif lat == 0:
        lines.append("- **Latency**: none measured in the capture; the model is in step with "
                     "the gear")
    return lines


def model_card(tm, meta: dict[str, Any], files: dict[str, Path], verified: dict[str, str],
               cost: dict[str, Any] | None, *, about: list[str] | tuple = ()) -> str:
    """The model card: what the model emulates, how well, at what cost, in which files.

    Parameters
    ----------
    tm : fxlab.training.TrainedModel
    meta : dict
        :func:`model_metadata`.
    files : dict
        ``{format: path}`` of the exported files.
    verified : dict
        ``{format: what reads the file back}``.
    cost : dict or None
        :func:`measure_cost`.
    about : list of str
        More Markdown lines on what the model is, from the formats that hold it
        (:attr:`fxlab.export.base.Format.card`: the gray-box emulator's EQ in Hz/dB/Q and how to
        run it), placed after the summary.
    """
    esr = meta["val_esr"]
    lines = [
        f"# {meta['name']}: {meta['architecture']}",
        "",
        f"- **Emulates**: {meta['effect'] or 'not recorded in the model folder'}",
        f"- **Sample rate**: {meta['sample_rate']} Hz (play it at this rate)",
        f"- **Held-out ESR**: {'not recorded' if esr is None else f'{esr:.3g}'}"
        " (error-to-signal ratio on data not trained on; lower is better)",
        f"- **Parameters**: {tm.param_count}",
        f"- **Input skip**: {'yes: the network predicts the difference from the dry input' if meta['input_skip'] else 'no'}",
        *_range_card(meta),
        f"- **Training data**: manifest hash `{meta['data_manifest_hash']}`",
        f"- **Made by**: fxlab {meta['fxlab_version']}, {meta['date']}",
    ]
    if cost is not None:
        lines.append(f"- **CPU cost**: {cost['cpu_s_per_audio_s']:.3g} s per second of audio at "
                     f"{cost['block']}-sample blocks ({cost['latency_ms']:.2f} ms each), fxlab's "
                     f"`{cost['engine']}` engine on one core of the exporting machine")
    else:
        lines.append("- **CPU cost**: not measured (a windowed network: see the run's latency.json)")
    lines += list(about)
    lines += _knob_card(meta.get("knobs") or [], files, graybox=tm.structure == "graybox")
    lines += ["", "| format | file | read back by |", "|---|---|---|"]
    for fmt, path in files.items():
        lines.append(f"| {fmt} | `{Path(path).name}` | {verified.get(fmt, '')} |")
    return "\n".join(lines) + "\n"
