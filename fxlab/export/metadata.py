"""What travels with an exported model: its metadata and the Markdown model card written beside it.

- :func:`model_metadata`   sample rate, effect, data manifest hash, held-out ESR, fxlab version, date
  (a flat dict of plain JSON values; each format stores it in the fields it has for it)
- :func:`measure_cost`     CPU seconds per second of audio at 64-sample blocks (fxlab's runtime)
- :func:`model_card`       the card's Markdown text
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["BLOCK", "measure_cost", "model_card", "model_metadata"]

#: Block size [samples] at which the card states the CPU cost (a live plugin's block).
BLOCK = 64


def _effect_of(tm) -> str | None:
    """What the model emulates: the run's data manifest (``<run>/data/manifest.json``, when the
    model folder is ``<run>/models/<name>``) or the dry/wet pair of ``fxlab train`` (``pair.json``)."""
    manifest = tm.path.parent.parent / "data" / "manifest.json"
    if manifest.exists():
        spec = json.loads(manifest.read_text()).get("effect")
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
        ``fxlab_version``, ``date`` (UTC, ISO 8601), ``input_skip`` (whether the input is added
        to the network's output).
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
    else:
        arch = tm.name
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
        "input_skip": tm.family == "sample",
    }


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


def model_card(tm, meta: dict[str, Any], files: dict[str, Path], verified: dict[str, str],
               cost: dict[str, Any] | None) -> str:
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
        f"- **Training data**: manifest hash `{meta['data_manifest_hash']}`",
        f"- **Made by**: fxlab {meta['fxlab_version']}, {meta['date']}",
    ]
    if cost is not None:
        lines.append(f"- **CPU cost**: {cost['cpu_s_per_audio_s']:.3g} s per second of audio at "
                     f"{cost['block']}-sample blocks ({cost['latency_ms']:.2f} ms each), fxlab's "
                     f"`{cost['engine']}` engine on one core of the exporting machine")
    else:
        lines.append("- **CPU cost**: not measured (a windowed network: see the run's latency.json)")
    lines += ["", "| format | file | read back by |", "|---|---|---|"]
    for fmt, path in files.items():
        lines.append(f"| {fmt} | `{Path(path).name}` | {verified.get(fmt, '')} |")
    return "\n".join(lines) + "\n"
