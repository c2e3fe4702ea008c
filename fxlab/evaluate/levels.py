"""Every model against input level: real recordings replayed from -30 to 0 dBFS peak.

A network only knows the levels it was shown. An LSTM capture of a linear EQ trained at -8.5 dBFS
peak scored ESR ~1e-5 at that level and ~1e-2 on material 6.6 dB louder; a traditional emulator
(a biquad cascade) does not care. This module measures it for every model of a run, whatever its
kind: each goes through :meth:`TrainedModel.predict` (the runtime), as in the rest of step 03.

- :func:`level_grid`         the input peaks scored: -30 to 0 dBFS in ``step_db`` steps
- :func:`level_material`     the loudest ``seconds`` of each shipped instrument recording, peak 1
- :func:`training_levels`    the level range of a data set's training input (its chunks' peaks)
- :func:`score_over_levels`  per model per level the ESR, pooled over the recordings
- :func:`score_run_levels`   the same for a run folder (its data set's effect, its models)
- :func:`held_out_setting`   a knob-conditioned data set's first held-out setting (or ``None``)
- :func:`levels_sentence`    per model: the worst ESR within the trained range, and above it
- :func:`levels_caption`     the figure's caption
- :func:`levels_html`        the table of every ESR, and that sentence (notebook 03 shows it)

The figure is :func:`fxlab.plots.evaluation.plot_esr_vs_level`; :func:`fxlab.evaluate.evaluate_run`
writes the result into ``metrics.json`` as ``levels`` (notebook 03's ``level_step_db``,
``level_seconds``).

Choices
-------
- Material: the loudest ``seconds`` of each instrument recording (:mod:`fxlab.recordings`, never
  in a training set), each excerpt scaled so its own peak sits at the level; the effect and every
  model render each excerpt from silence. ESR is pooled over the excerpts joined.
- "Within the trained range" means a peak at most :data:`WITHIN_DB` above the loudest input the
  model was trained on (``config.json``'s ``input_range.peak_dbfs``; the data set's training peak
  for a model that does not record one): the same 1 dB the runtime allows before it warns
  (:data:`fxlab.runtime.streaming.LEVEL_HEADROOM_DB`). Playing louder input is the point here, so
  the runtime's :class:`fxlab.errors.LevelWarning` is silenced while scoring.
- The thesis's windowed networks (one forward pass of a whole window per output sample, ~450
  samples/s on a 2-core CPU: hours for this grid) are not scored; ``skipped`` says so.
- A knob-conditioned run is scored at its first held-out setting (Validation 1's; ``setting``).
"""

from __future__ import annotations

import html
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fxlab import metrics, progress
from fxlab.audio import loudest_start, peak_dbfs
from fxlab.errors import LevelWarning, ParameterError, PipelineError, problem
from fxlab.evaluate.trained import find_models
from fxlab.util import Html, fmt, html_table

__all__ = ["LEVEL_RANGE_DBFS", "WITHIN_DB", "held_out_setting", "level_grid", "level_material",
           "levels_caption", "levels_html", "levels_sentence", "score_over_levels", "score_run_levels",
           "training_levels"]

#: The input peaks scored, dBFS: from the quiet end of real playing to full scale.
LEVEL_RANGE_DBFS = (-30.0, 0.0)

#: A level at most this far above a model's training peak counts as trained on, dB (as
#: :data:`fxlab.runtime.streaming.LEVEL_HEADROOM_DB`, where the runtime starts warning).
WITHIN_DB = 1.0


def level_grid(step_db: float = 3.0, *, low: float = LEVEL_RANGE_DBFS[0],
               high: float = LEVEL_RANGE_DBFS[1]) -> tuple[float, ...]:
    """Input peaks from ``high`` down to ``low`` in ``step_db`` steps, quietest first, dBFS.

    ``level_grid(3)`` is -30, -27, ..., -3, 0 (11 levels); ``high`` is always included.
    """
    if not (isinstance(step_db, int | float) and math.isfinite(step_db) and step_db > 0):
        raise ParameterError(problem(
            f"step_db={step_db!r}", found=repr(step_db), expected="a step in dB > 0",
            fix="use e.g. 3.0"))
    if not (low < high <= 0):
        raise ParameterError(problem(
            f"levels {low!r} to {high!r} dBFS", found="an empty or clipping range",
            expected="low < high <= 0 dBFS", fix="use e.g. low=-30, high=0"))
    n = int(math.floor((high - low) / step_db + 1e-9))
    return tuple(round(high - k * step_db, 6) + 0.0 for k in range(n, -1, -1))


def level_material(*, sr: int, seconds: float = 0.5) -> dict[str, np.ndarray]:
    """The loudest ``seconds`` of each shipped instrument recording, each scaled to peak 1.0.

    Parameters
    ----------
    sr : int > 0 [Hz]
    seconds : float > 0
        Length of each excerpt (the whole recording where it is shorter).

    Returns
    -------
    dict
        ``{recording name: np.ndarray [shape=(n,), dtype=float32]}``, peak exactly 1.0 (0 dBFS).
    """
    from fxlab import recordings

    if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
        raise ParameterError(problem(
            f"seconds={seconds!r}", found=repr(seconds), expected="a length in seconds > 0",
            fix="use e.g. 1.0"))
    n = int(round(seconds * sr))
    out = {}
    for name in recordings.list_recordings("instrument"):
        x = recordings.load_recording(name, sr=sr)
        start = loudest_start(x, n, hop=max(sr // 100, 1))
        x = x[start:start + n]
        out[name] = (x / np.max(np.abs(x))).astype(np.float32)
    return out


def training_levels(dataset) -> dict[str, Any]:
    """The level range of a data set's training input (what every model of a run was shown).

    Returns
    -------
    dict
        ``peak_dbfs`` (the whole training input's), ``chunk_peak_min_dbfs`` and
        ``chunk_peak_max_dbfs`` (the quietest and loudest of its chunks' peaks: the range of input
        peaks it covers; both the split's peak when it has no chunks) and ``train_levels_dbfs``
        (notebook 01's ``train_levels``, ``None`` when not set).
    """
    split = dataset.split("train")
    dry = np.asarray(split.dry)
    chunks = [peak_dbfs(dry[c["start"]:c["start"] + c["n"]]) for c in split.chunks] or [peak_dbfs(dry)]
    levels = dataset.manifest["recipe"]["train"].get("levels_dbfs")
    return {"peak_dbfs": peak_dbfs(dry), "chunk_peak_min_dbfs": float(min(chunks)),
            "chunk_peak_max_dbfs": float(max(chunks)),
            "train_levels_dbfs": list(levels) if levels else None}


def _render_levels(trained, effect, material: Mapping[str, np.ndarray], levels, *, sr: int,
                   setting: Mapping[str, float] | None) -> list[float]:
    """ESR of one model at each level, pooled over the material (both from silence per excerpt)."""
    knobs = dict(setting) if setting and getattr(trained, "knobs", ()) else None
    out = []
    for level in levels:
        gain = np.float32(10.0 ** (level / 20.0))
        targets, outputs = [], []
        for x in material.values():
            xl = x * gain
            y = np.asarray(trained.predict(xl, knobs=knobs) if knobs else trained.predict(xl),
                           np.float32).reshape(-1)
            if y.size != xl.size:
                raise PipelineError(problem(
                    f"model {trained.name!r}", found=f"{y.size} output samples for {xl.size}",
                    expected="one output sample per input sample",
                    fix="check the model's predict()"))
            targets.append(np.asarray(effect(xl, sr), np.float32))
            outputs.append(y)
        out.append(metrics.esr(np.concatenate(targets), np.concatenate(outputs)))
    return out


def score_over_levels(trained_list, effect, *, sr: int, levels_dbfs: Sequence[float] | None = None,
                      seconds: float = 0.5, setting: Mapping[str, float] | None = None,
                      training: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every model's ESR against input peak level, on real recordings through the effect.

    Parameters
    ----------
    trained_list : list of TrainedModel
        Anything with ``.name``, ``.family`` and ``.predict(x)``; ``.input_range`` (the training
        input's ``peak_dbfs``) where known. Windowed models are skipped (module text).
    effect : Effect
        The run's effect (``Dataset.effect``); at ``setting`` when one is given.
    sr : int > 0 [Hz]
    levels_dbfs : sequence of float <= 0, optional
        Input peaks, dBFS (default :func:`level_grid` ``(3.0)``: -30 to 0 in 3 dB steps).
    seconds : float > 0
        Excerpt of each recording (:func:`level_material`).
    setting : dict, optional
        ``{knob: value}`` of a knob-conditioned run: the effect and the models at it.
    training : dict, optional
        :func:`training_levels` of the data set the models were trained on (for the figure's
        shaded range, and the training peak of a model that records none).

    Returns
    -------
    dict
        ``definition``; ``levels_dbfs``; ``recordings`` (``{name: seconds}``); ``setting``;
        ``training``; ``models``: ``{name: {"esr": [per level], "trained_peak_dbfs",
        "input_range"}}``; ``skipped``: ``{name: why}``; ``summary``: per model (see
        :func:`_summary`).
    """
    levels = [float(v) for v in (level_grid(3.0) if levels_dbfs is None else levels_dbfs)]
    if not levels or any(not (math.isfinite(v) and v <= 0) for v in levels):
        raise ParameterError(problem(
            f"levels_dbfs={levels_dbfs!r}", found=repr(levels_dbfs),
            expected="peak levels in dBFS, each <= 0", fix="use level_grid(3.0)"))
    material = level_material(sr=sr, seconds=seconds)
    fx = effect.with_knobs(**setting) if setting else effect
    training = dict(training or {})
    out: dict[str, Any] = {
        "definition": (f"the loudest {seconds:g} s of each of the {len(material)} shipped instrument "
                       f"recordings (never trained on), each scaled to the input peak, through the "
                       f"effect and each model from silence; ESR over the excerpts joined"
                       + (f"; at the held-out setting {_setting_text(setting)}" if setting else "")),
        "levels_dbfs": levels, "recordings": {n: round(x.size / sr, 3) for n, x in material.items()},
        "setting": dict(setting) if setting else None, "training": training,
        "models": {}, "skipped": {}}
    for trained in trained_list:
        if getattr(trained, "family", "sample") == "windowed":
            out["skipped"][trained.name] = ("windowed networks (a whole window per output sample, "
                                            "~450 samples/s on a 2-core CPU) are not scored")
            continue
        progress.note(f"{trained.name}: input levels {levels[0]:g} to {levels[-1]:g} dBFS")
        rng = dict(getattr(trained, "input_range", None) or {})
        peak = rng.get("peak_dbfs", training.get("peak_dbfs"))
        with warnings.catch_warnings():  # louder than trained on, on purpose
            warnings.simplefilter("ignore", LevelWarning)
            esr = _render_levels(trained, fx, material, levels, sr=sr, setting=setting)
        out["models"][trained.name] = {"esr": esr, "trained_peak_dbfs": peak, "input_range": rng}
    out["summary"] = {name: _summary(levels, m["esr"], m["trained_peak_dbfs"])
                      for name, m in out["models"].items()}
    return out


def _setting_text(setting: Mapping[str, float]) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in setting.items())


def _summary(levels: Sequence[float], esr: Sequence[float], peak: float | None) -> dict[str, Any]:
    """One model's numbers in words' reach: ``esr_within_max`` (worst ESR at levels within the
    trained range), ``esr_at_peak`` (at the loudest level within it), ``loudest_dbfs`` and
    ``esr_loudest`` (at the loudest level scored), ``above_db`` (how far that is above the
    training peak, dB); the first three ``None`` without a known training peak."""
    loud = int(np.argmax(levels))
    base = {"trained_peak_dbfs": peak, "loudest_dbfs": levels[loud], "esr_loudest": esr[loud],
            "above_db": None if peak is None else levels[loud] - peak,
            "esr_within_max": None, "esr_at_peak": None, "at_peak_dbfs": None}
    if peak is None:
        return base
    within = [i for i, v in enumerate(levels) if v <= peak + WITHIN_DB]
    if within:
        top = max(within, key=lambda i: levels[i])
        base.update(esr_within_max=max(esr[i] for i in within), esr_at_peak=esr[top],
                    at_peak_dbfs=levels[top])
    return base


def score_run_levels(run_dir: str | os.PathLike, *, step_db: float = 3.0, seconds: float = 0.5,
                     models=None) -> dict[str, Any]:
    """:func:`score_over_levels` for a run folder: its data set's effect and training range, its
    trained models (``models`` to give them instead), a conditioned run at its first held-out
    setting. Writes nothing (:func:`fxlab.evaluate.evaluate_run` puts it in ``metrics.json``)."""
    from fxlab.datasets import load_dataset

    run = Path(run_dir)
    data = load_dataset(run / "data")
    trained_list = list(models) if models is not None else find_models(run)
    return score_over_levels(trained_list, data.effect, sr=data.sr, levels_dbfs=level_grid(step_db),
                             seconds=seconds, setting=held_out_setting(data),
                             training=training_levels(data))


def held_out_setting(dataset) -> dict[str, float] | None:
    """A conditioned data set's first held-out setting (Validation 1's); ``None`` otherwise."""
    cond = dataset.conditioning
    return dict(cond["val_settings"][0]) if cond and cond.get("val_settings") else None


def levels_sentence(levels: Mapping[str, Any]) -> str:
    """What the level sweep says, per model: the worst ESR within its trained range and the ESR at
    the loudest level scored, how far above that range (plain text; ``""`` when nothing scored)."""
    parts = []
    for name, s in levels.get("summary", {}).items():
        if s["esr_within_max"] is None:
            parts.append(f"{name}: ESR {fmt(s['esr_loudest'])} at {s['loudest_dbfs']:g} dBFS "
                         "(training level unknown)")
            continue
        text = (f"{name} (trained up to {s['trained_peak_dbfs']:.1f} dBFS peak): ESR at most "
                f"{fmt(s['esr_within_max'])} at or below it")
        if s["above_db"] is not None and s["above_db"] > WITHIN_DB:
            ratio = s["esr_loudest"] / max(s["esr_at_peak"], 1e-30)
            text += (f", {fmt(s['esr_loudest'])} at {s['loudest_dbfs']:g} dBFS, "
                     f"{s['above_db']:.1f} dB above it ({ratio:.3g} × its ESR at "
                     f"{s['at_peak_dbfs']:g} dBFS)")
        parts.append(text)
    return "; ".join(parts) + "." if parts else ""


def levels_caption(levels: Mapping[str, Any]) -> str:
    """The caption of :func:`fxlab.plots.evaluation.plot_esr_vs_level`'s figure: what was played,
    what the shading marks, and :func:`levels_sentence`."""
    tr = levels.get("training") or {}
    shade = ""
    if tr:
        lo, hi = tr["chunk_peak_min_dbfs"], tr["chunk_peak_max_dbfs"]
        shade = (f" Shaded: the training input's peak levels ({lo:.1f} to {hi:.1f} dBFS"
                 if hi - lo >= 0.5 else f" Shaded: the training input's peak level ({hi:.1f} dBFS")
        shade += ("; notebook 01's train_levels)." if tr.get("train_levels_dbfs") else
                  "; its envelopes rise from silence, so quieter input was seen too).")
    skipped = (" Not scored: " + ", ".join(levels["skipped"]) + " (windowed)."
               if levels.get("skipped") else "")
    return (f"ESR (log scale) of each model against the input's peak level: {levels['definition']}."
            f"{shade} Dashed lines: a model's own training peak where it differs. "
            f"{levels_sentence(levels)}{skipped}")


def levels_html(levels: Mapping[str, Any] | None) -> Html | str:
    """The level sweep (``metrics.json``'s ``levels``) as a table, one row per model (its training
    peak, the worst ESR within it, the ESR at every level) with a caption saying how it was
    measured, and :func:`levels_sentence` under it; ``""`` when not scored."""
    if not levels or not levels.get("models"):
        return ""
    lv = levels["levels_dbfs"]
    head = ["model", "training peak (dBFS)", "worst ESR at or below it",
            *[f"ESR at {v:g} dBFS" for v in lv]]
    rows = []
    for name, m in levels["models"].items():
        s = levels["summary"][name]
        rows.append([Html(f"<b>{html.escape(name)}</b>"), fmt(s["trained_peak_dbfs"], 3),
                     s["esr_within_max"], *m["esr"]])
    tr = levels.get("training") or {}
    caption = f"Input level: {levels['definition']}."
    if tr.get("train_levels_dbfs"):
        caption += (" The training input's chunks peaked at " + ", ".join(
            f"{v:g}" for v in tr["train_levels_dbfs"]) + " dBFS in turn (notebook 01's train_levels).")
    elif tr:
        caption += (f" The training input peaked at {tr['peak_dbfs']:.1f} dBFS (notebook 01's "
                    "train_levels widens it).")
    if levels.get("skipped"):
        caption += " Not scored: " + "; ".join(f"{n}: {why}" for n, why in levels["skipped"].items()) + "."
    table = html_table(head, rows, caption=caption, css_class="fxlab-table fxlab-results")
    return Html(f"{table}<p>{html.escape(levels_sentence(levels))}</p>")
