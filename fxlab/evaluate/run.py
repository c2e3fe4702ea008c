"""Render every trained model on the validation splits, measure and plot (:func:`evaluate_run`).

Also :func:`render`, :func:`score` and :func:`score_recordings`; :func:`find_models` (from
:mod:`fxlab.evaluate.trained`), :func:`combined_measure` and :data:`COMBINED_ORDER` (from
:mod:`fxlab.evaluate.thesis`) are re-exported here.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from fxlab import metrics, perceptual, progress, response
from fxlab.audio import loudest_start, wav_writer
from fxlab.errors import ParameterError, PipelineError, problem, unknown_name
from fxlab.evaluate.config import EvalConfig, Evaluation, FigureInfo
from fxlab.evaluate.knobs import score_over_knobs
from fxlab.evaluate.levels import (
    held_out_setting,
    level_grid,
    levels_caption,
    score_over_levels,
    training_levels,
)
from fxlab.evaluate.reference import learning_curve, load_reference
from fxlab.evaluate.tables import answers, training_info
from fxlab.evaluate.thesis import (
    COMBINED_ORDER,
    SPLIT_LABELS,
    SPLIT_NAMES,
    THESIS_MODELS,
    THESIS_SHORT,
    THESIS_VALIDATION_MSE,
    combined_measure,
)
from fxlab.evaluate.trained import find_models
from fxlab.evaluate.visqol import score_visqol
from fxlab.plots.common import save_figure
from fxlab.plots.evaluation import (
    plot_band_errors,
    plot_esr_vs_level,
    plot_model_comparison,
    plot_responses,
    plot_spectra,
    plot_spectrograms,
    plot_time_comparison,
)
from fxlab.plots.training import plot_learning_curves
from fxlab.util import fmt, jsonable, write_json

__all__ = ["COMBINED_ORDER", "combined_measure", "evaluate_run", "find_models", "render", "score",
           "score_recordings"]


# ------------------------------------------------------------------ models and rendering


def render(trained, x, *, knobs=None) -> tuple[np.ndarray, str]:
    """One model's output for a whole signal, from a zero state, and what ran it.

    ``trained.predict(x)``: the runtime's fast exact path (:func:`fxlab.runtime.render`).
    ``x`` may be a conditioned network's ``[n, 1 + K]`` input (audio, normalised knob values;
    :func:`fxlab.conditioning.render_inputs`: a zero state at every change of setting);
    ``knobs`` (``{knob: value}``) holds a conditioned network's knobs over a mono ``x``.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
    engine : str
        What ran the network (``"numba"``, ``"keras"``), from the model's processor.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2 and x.shape[1] > 1:
        from fxlab.conditioning import render_inputs

        y = render_inputs(trained, x)
        x = x[:, 0]
    else:
        x = x.reshape(-1)
        y = trained.predict(x, knobs=knobs) if knobs else trained.predict(x)
        y = np.asarray(y, dtype=np.float32).reshape(-1)
    proc = getattr(trained, "offline_processor", None)
    how = getattr(proc, "engine_name", "predict")
    if y.size != x.size:
        raise PipelineError(problem(
            f"model {trained.name!r}", found=f"{y.size} output samples for {x.size} input samples",
            expected="one output sample per input sample",
            fix="check the model's predict() (windowed models pad the start)"))
    return y, how


def _excerpt(split, seconds: float, context: int, sr: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(dry with context, wet excerpt, start, context used) for an excerpt of ``seconds``."""
    dry, wet = np.asarray(split.dry, np.float32), np.asarray(split.wet, np.float32)
    n = int(round(seconds * sr))
    if seconds <= 0 or n >= wet.size:
        return dry, wet, 0, 0
    start = loudest_start(wet, n, hop=sr // 100)
    ctx = min(context, start)
    return dry[start - ctx:start + n], wet[start:start + n], start, ctx


def score(target, output, *, sr: int) -> dict[str, Any]:
    """Every metric of one (target, output) pair: the numbers a row of ``metrics.json`` holds.

    For any material, e.g. a user's own recording:
    ``pair = fxlab.capture.pairs.load_pair(dry, wet)``, ``y, _ = render(trained, pair.dry)``,
    ``score(pair.wet, y, sr=pair.sr)``.

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
        The effect's output and the model's, same length.
    sr : int > 0
        Sample rate, Hz.

    Returns
    -------
    dict
        ``mse``, ``esr`` and ``snr_db`` (None for a silent target), ``accuracy_12bit``,
        ``lsd_db``, ``mrstft``, ``bands_db`` (``{"band_<centre>Hz": dB}``).
    """
    return _split_metrics(target, output, sr)


def _split_metrics(target: np.ndarray, output: np.ndarray, sr: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "mse": metrics.mse(target, output),
        "esr": metrics.esr(target, output) if np.any(target) else None,
        "snr_db": metrics.snr_db(target, output) if np.any(target) else None,
        "accuracy_12bit": metrics.accuracy_12bit(target, output),
        "lsd_db": metrics.log_spectral_distance(target, output, sr=sr),
        "mrstft": metrics.multi_resolution_stft_distance(target, output),
    }
    out["bands_db"] = metrics.third_octave_band_errors(target, output, sr=sr).as_dict()
    return out


def _reference_response(effect, freqs: np.ndarray, sr: int, cfg: EvalConfig):
    """The effect's magnitude response in dB at ``freqs`` and where it came from."""
    fn = getattr(effect, "magnitude_response_db", None)
    if callable(fn):  # the EQs' closed form (an error there is a bug, not a fallback)
        return np.asarray(fn(freqs, sr=sr), dtype=float), "the effect's transfer function"
    # an effect without a closed form: measured like the models
    r = response.measure_response(lambda v: effect(v, sr), sr=sr, level_dbfs=cfg.response_level_dbfs,
                                 method="sweep", n=int(cfg.response_seconds * sr))
    return np.interp(np.log(freqs), np.log(r.freqs_hz), r.magnitude_db), "measured (sweep)"


def evaluate_run(config: EvalConfig, *, models: Iterable | None = None) -> Evaluation:
    """Render, measure and plot every trained model of a run folder.

    Reads ``run_dir/data`` (:func:`fxlab.datasets.load_dataset`) and the models of
    ``run_dir/models`` (or ``models``, objects with ``.name``, ``.family``, ``.param_count`` and
    ``.predict(x)``). Writes:

    - ``rendered/<model>/<split>.wav``: the model's output (float32, the data set's rate; an
      excerpt where the model was evaluated on one) and ``rendered/target/<split>.wav`` likewise
    - ``metrics.json``: every number, the settings, the thesis's values and the two answers;
      with ``config.visqol``, each model's ``visqol`` (``{clip: MOS-LQO}``), ``visqol_controls``
      and ``visqol`` (stretches, skipped, agreement with the ESR, time spent;
      :func:`fxlab.evaluate.visqol.score_visqol`)
    - ``metrics.csv``: the same numbers, one row per (model, split, metric)
    - ``figures/*.png``

    Parameters
    ----------
    config : EvalConfig
        Notebook 03's settings; the run folder is ``config.run_dir``.
    models : iterable of TrainedModel, optional

    Returns
    -------
    Evaluation
    """
    from fxlab.datasets import load_dataset

    cfg = config
    run = Path(cfg.run_dir)
    data = load_dataset(run / "data")
    sr = int(data.sr)
    for s in cfg.splits + (cfg.figure_split,):
        if s not in data.split_names:
            raise unknown_name("split", s, list(data.split_names))
    trained_list = _model_list(models, run)

    effect = data.effect
    linear = bool(getattr(effect, "is_linear", True))
    fig_dir = run / "figures"
    result: dict[str, Any] = {
        "sr": sr,
        "data_manifest_hash": data.manifest_hash,
        "config": {k: v for k, v in asdict(cfg).items() if k != "run_dir"},
        "effect": getattr(effect, "spec", None),
        "thesis_validation_mse": THESIS_VALIDATION_MSE,
        "models": {},
    }
    outputs: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    responses: dict[str, response.Response] = {}
    grid = None
    for k, trained in enumerate(trained_list, 1):
        progress.note(f"evaluating {trained.name} ({k}/{len(trained_list)})")
        entry, outputs[trained.name], r = _score_model(trained, data, cfg, run, linear=linear)
        if r is not None:
            responses[trained.name] = r
            grid = r.freqs_hz
        result["models"][trained.name] = entry

    if linear and responses:
        _add_responses(result, responses, grid, effect, sr, cfg)

    result["combined"] = combined_measure(result, outputs, splits=cfg.splits, sr=sr)
    if cfg.combined_excerpt_seconds > 0:
        result["combined_excerpts"] = combined_measure(
            result, outputs, splits=cfg.splits, sr=sr, excerpt_seconds=cfg.combined_excerpt_seconds,
            clips={s: data.split(s).wet for s in cfg.splits})

    if cfg.recordings_peak_dbfs is not None and data.conditioning:
        result["knobs"] = score_over_knobs(trained_list, effect, data.conditioning, sr=sr,
                                           peak_dbfs=cfg.recordings_peak_dbfs,
                                           visqol_seconds=cfg.visqol_seconds if cfg.visqol else None)
    recorded: dict[str, Any] = {}
    if cfg.recordings_peak_dbfs is not None:
        result["recordings"], recorded = _score_recordings(
            trained_list, effect, sr=sr, peak_dbfs=cfg.recordings_peak_dbfs,
            windowed=cfg.windowed_eval_seconds == 0)
    if cfg.visqol:
        _add_visqol(result, data, cfg, outputs, recorded, sr)
    if cfg.level_step_db > 0:
        result["levels"] = score_over_levels(
            trained_list, effect, sr=sr, levels_dbfs=level_grid(cfg.level_step_db),
            seconds=cfg.level_seconds, setting=held_out_setting(data), training=training_levels(data))

    # targets, written once per split (the whole clip, and each excerpt used)
    for split_name in cfg.splits:
        _write_wav(run / "rendered" / "target" / f"{split_name}.wav",
                   np.asarray(data.split(split_name).wet, np.float32), sr)

    result = jsonable(result)
    result["answers"] = answers(result, training=training_info(run))
    write_json(run / "metrics.json", result, indent=1)
    _write_csv(run / "metrics.csv", result)
    figures = _make_figures(run, fig_dir, data, cfg, result, outputs, responses, sr)
    return Evaluation(run, result, figures)


def _model_list(models: Iterable | None, run: Path) -> list:
    """The models to evaluate (given, else the run's); refuses none, or two of one name."""
    trained_list = list(models) if models is not None else find_models(run)
    if not trained_list:
        raise PipelineError(problem(
            "models", found="an empty list", expected="at least one trained model",
            fix="run notebook 02_train first"))
    names = [t.name for t in trained_list]
    if len(set(names)) != len(names):
        raise ParameterError(problem(
            "models", found=f"repeated names {names}", expected="one model per name",
            fix="give each model its own folder under models/"))
    return trained_list


def _add_responses(result: dict, responses: dict, grid: np.ndarray, effect, sr: int,
                   cfg: EvalConfig) -> None:
    """Into ``result``: the effect's reference response at ``grid`` and each model's measured
    response with its deviation from the reference."""
    ref_db, source = _reference_response(effect, grid, sr, cfg)
    result["reference_response"] = {"source": source, "freqs_hz": grid, "magnitude_db": ref_db}
    for name, r in responses.items():
        ref_at = np.interp(np.log(r.freqs_hz), np.log(grid), ref_db)
        dev = response.response_deviation(r, ref_at, cutoff_hz=cfg.cutoff_hz)
        result["models"][name]["response"] = {
            "method": r.method, "level_dbfs": r.level_dbfs, "below_db": dev.below_db,
            "above_db": dev.above_db, "freqs_hz": r.freqs_hz, "magnitude_db": r.magnitude_db}


def _score_model(trained, data, cfg: EvalConfig, run: Path, *, linear: bool):
    """One model rendered on every split (written to ``rendered/``) and measured; its response
    too when the effect is linear. Returns (metrics entry, {split: (target, output)},
    Response or None)."""
    sr = int(data.sr)
    family = getattr(trained, "family", "sample")
    seconds = cfg.windowed_eval_seconds if family == "windowed" else cfg.sample_eval_seconds
    context = cfg.context_samples
    window = getattr(trained, "window", None)
    if family == "windowed" and isinstance(window, int) and window > 0:
        context = min(context, window - 1)  # a windowed output sees only its window
    entry: dict[str, Any] = {"family": family,
                             "param_count": int(getattr(trained, "param_count", 0) or 0),
                             "splits": {}, "render": {}}
    outputs = {}
    for split_name in cfg.splits:
        split = data.split(split_name)
        dry, wet, start, ctx = _excerpt(split, seconds, context, sr)
        if getattr(trained, "knobs", ()) and getattr(split, "knobs", ()):
            # the knob columns of the same stretch: each setting's own value beside the audio
            dry = split.inputs[start - ctx:start - ctx + dry.size]
        t0 = time.perf_counter()
        y, how = render(trained, dry)
        wall = time.perf_counter() - t0
        y = y[ctx:]
        outputs[split_name] = (wet, y)
        _write_wav(run / "rendered" / trained.name / f"{split_name}.wav", y, sr)
        m = _split_metrics(wet, y, sr)
        m.update({"start_s": start / sr, "seconds": wet.size / sr,
                  "whole_clip": wet.size == np.asarray(split.wet).size})
        entry["splits"][split_name] = m
        entry["render"][split_name] = {"path": how, "wall_s": wall, "samples": int(dry.size)}
    if not linear:
        return entry, outputs, None
    if family == "windowed":
        meth, n = cfg.windowed_response_method, cfg.windowed_response_samples
        tail = n
    else:
        meth, n = cfg.response_method, int(round(cfg.response_seconds * sr))
        tail = None
    r = response.measure_response(lambda v: render(trained, v)[0], sr=sr,
                                  level_dbfs=cfg.response_level_dbfs, method=meth, n=n, tail=tail)
    return entry, outputs, r


def _add_visqol(result: dict, data, cfg: EvalConfig, outputs: dict, recorded: dict, sr: int) -> None:
    """Into ``result``: ViSQOL of every model on V1, V2 and each instrument recording, with its
    controls (:func:`fxlab.evaluate.visqol.score_visqol`); or why it was skipped."""
    why = perceptual.unavailable()
    if why is not None:
        result["visqol"] = {"skipped_why": why}
        return
    clips = {s: (np.asarray(data.split(s).wet, np.float32), np.asarray(data.split(s).dry, np.float32))
             for s in cfg.splits}
    renders: dict[str, dict[str, tuple[int, np.ndarray]]] = {}
    for name, per_split in outputs.items():
        splits = result["models"][name]["splits"]
        renders[name] = {s: (int(round(splits[s]["start_s"] * sr)), y)
                         for s, (_, y) in per_split.items()}
    for rec, (target, dry) in recorded.get("clips", {}).items():
        clips[rec] = (target, dry)
        for name, ys in recorded["outputs"].items():
            renders[name][rec] = (0, ys[rec])
    v = score_visqol(clips, renders, sr=sr, seconds=cfg.visqol_seconds, labels=SPLIT_LABELS)
    for name, scores in v.pop("models").items():
        result["models"][name]["visqol"] = scores
    result["visqol_controls"] = v.pop("controls")
    result["visqol"] = v


def score_recordings(trained_list, effect, *, sr: int, peak_dbfs: float = -12.0,
                     windowed: bool = False) -> dict[str, Any]:
    """Every model on the shipped real instrument recordings through the run's effect.

    The recordings (:func:`fxlab.recordings.list_recordings` of kind ``"instrument"``: guitar,
    piano, tabla, a drum roll, 43 s in all) are in no training set. Each is scaled to a peak of
    ``peak_dbfs``, put through ``effect`` and through each model from silence; ESR and MSE are
    taken over all of them joined, and ESR per recording.

    Parameters
    ----------
    trained_list : list of TrainedModel
    effect : Effect
        The run's effect (``load_dataset(...).effect``).
    sr : int
    peak_dbfs : float <= 0
    windowed : bool
        Score the thesis's windowed networks too (one forward pass per output sample: minutes of
        CPU per second of audio); otherwise they are listed under ``skipped``.

    Returns
    -------
    dict
        ``definition``, ``recordings`` (names and seconds), ``models`` (``{name: {"mse", "esr",
        "lsd_db", "per_recording": {rec: esr}}}``) and ``skipped`` (``{name: why}``).
    """
    return _score_recordings(trained_list, effect, sr=sr, peak_dbfs=peak_dbfs, windowed=windowed)[0]


def _score_recordings(trained_list, effect, *, sr: int, peak_dbfs: float,
                      windowed: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`score_recordings`, and the signals: ``{"clips": {rec: (target, dry)}, "outputs":
    {model: {rec: y}}}`` (what ViSQOL scores next)."""
    from fxlab import recordings

    names = recordings.list_recordings("instrument")
    dry = {n: recordings.load_recording(n, sr=sr, peak_dbfs=peak_dbfs) for n in names}
    wet = {n: np.asarray(effect(x, sr), np.float32) for n, x in dry.items()}
    out: dict[str, Any] = {
        "definition": (f"the {len(names)} shipped instrument recordings (never trained on), each "
                       f"at a peak of {peak_dbfs:g} dBFS through the run's effect, from silence"),
        "recordings": {n: round(x.size / sr, 2) for n, x in dry.items()},
        "models": {}, "skipped": {}}
    signals: dict[str, Any] = {"clips": {n: (wet[n], dry[n]) for n in names}, "outputs": {}}
    for trained in trained_list:
        if getattr(trained, "family", "sample") == "windowed" and not windowed:
            out["skipped"][trained.name] = ("windowed networks, one forward pass per output "
                                            "sample, are scored on real recordings only where "
                                            "they are scored on whole clips (windowed_eval_"
                                            "seconds = 0)")
            continue
        progress.note(f"{trained.name}: the instrument recordings")
        held = {k.name: effect.knob_values[k.name] for k in getattr(trained, "knobs", ())
                if k.name in getattr(effect, "knob_values", {})}  # a conditioned net at the effect's setting
        ys = {n: render(trained, x, knobs=held)[0] for n, x in dry.items()}
        signals["outputs"][trained.name] = ys
        t = np.concatenate([wet[n] for n in names])
        y = np.concatenate([ys[n] for n in names])
        out["models"][trained.name] = {
            "mse": metrics.mse(t, y), "esr": metrics.esr(t, y),
            "lsd_db": metrics.log_spectral_distance(t, y, sr=sr),
            "per_recording": {n: metrics.esr(wet[n], ys[n]) for n in names}}
    return out, signals


def _learning_curves(run: Path, result: dict) -> tuple[dict, dict]:
    """Per thesis network: this run's and the reference run's histories, and the thesis's MSE."""
    reference = load_reference() or {}
    curves: dict[str, dict[str, list]] = {}
    marks = {}
    for label, mse in THESIS_VALIDATION_MSE.items():
        name = THESIS_MODELS[label]
        here = learning_curve(run / "models" / name) if name in result["models"] else []
        ref = reference.get("models", {}).get(name, {}).get("history", [])
        if not (here or ref):
            continue
        curves[name] = {}
        if ref:
            curves[name]["fxlab reference run"] = ref
        if here:
            curves[name]["this run"] = here
        marks[name] = mse
    return curves, marks


def _write_wav(path: Path, y: np.ndarray, sr: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wav_writer(path, sr) as dst:
        dst.write(np.asarray(y, np.float32))


def _write_csv(path: Path, result: dict) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "family", "split", "metric", "value"])
        for name, e in result["models"].items():
            w.writerow([name, e["family"], "", "param_count", e["param_count"]])
            for split, m in e["splits"].items():
                for k, v in m.items():
                    if k == "bands_db":
                        for band, bv in v.items():
                            w.writerow([name, e["family"], split, band, bv])
                    else:
                        w.writerow([name, e["family"], split, k, v])
                r = e["render"][split]
                w.writerow([name, e["family"], split, "render_wall_s", r["wall_s"]])
            if "response" in e:
                for k in ("below_db", "above_db", "level_dbfs"):
                    w.writerow([name, e["family"], "", f"response_{k}", e["response"][k]])
        for label, v in result["thesis_validation_mse"].items():
            w.writerow([f"thesis: {label}", "thesis", "validation", "mse", v])
        for name, e in result["models"].items():
            for clip, v in (e.get("visqol") or {}).items():
                w.writerow([name, e["family"], clip, "visqol_moslqo", v])
        for control, scores in (result.get("visqol_controls") or {}).items():
            for clip, v in scores.items():
                w.writerow([f"control: {control}", "control", clip, "visqol_moslqo", v])
        levels = result.get("levels") or {}
        for name, m in levels.get("models", {}).items():
            family = result["models"].get(name, {}).get("family", "")
            for level, v in zip(levels["levels_dbfs"], m["esr"], strict=True):
                w.writerow([name, family, "levels", f"esr_at_{level:g}dBFS", v])


def _make_figures(run, fig_dir, data, cfg, result, outputs, responses, sr) -> list[FigureInfo]:
    figs: list[FigureInfo] = []

    def save(fig, stem, caption):
        p = save_figure(fig, fig_dir / f"{stem}.png")
        figs.append(FigureInfo(p, caption))

    split = cfg.figure_split if cfg.figure_split in cfg.splits else cfg.splits[0]
    split_label = SPLIT_NAMES.get(split, split)
    n_fig = int(round(cfg.figure_seconds * sr))
    for name, per_split in outputs.items():
        target, y = per_split[split]
        e = result["models"][name]["splits"][split]
        where = ("whole clip" if e["whole_clip"] else
                 f"a {e['seconds']:.2g} s excerpt from {e['start_s']:.2f} s")
        a = loudest_start(target, n_fig, hop=sr // 100)
        tt, yy = target[a:a + n_fig], y[a:a + n_fig]
        save(plot_time_comparison(tt, yy, sr=sr, labels=("target", name),
                                  title=f"{name}: target, output and difference ({split_label})"),
             f"time_{name}_{split}",
             f"{name} on {split_label} ({where}; drawn: {tt.size / sr:.2g} s): the effect's output "
             f"(top), the model's (middle) and their difference (bottom), as the thesis's Figs. 11, "
             f"15, 17 and 19. MSE {e['mse']:.3g}, ESR {fmt(e['esr'])}.")
        save(plot_spectra(target, y, sr=sr, labels=("target", name),
                          title=f"{name}: long-term spectra ({split_label})"),
             f"spectra_{name}_{split}",
             f"Long-term spectra of the target and of {name}'s output on {split_label} ({where}), "
             f"as the thesis's Figs. 12-13, with their difference in dB below; log-spectral "
             f"distance {e['lsd_db']:.2f} dB over 20 Hz-20 kHz.")
        save(plot_spectrograms(tt, yy, sr=sr, labels=("target", name),
                               title=f"{name}: spectrograms ({split_label})"),
             f"spectrogram_{name}_{split}",
             f"Spectrograms of the target (left) and of {name}'s output (middle) on {split_label}, "
             f"and the output's level minus the target's (right, red: too loud, blue: too quiet).")
    if responses and "reference_response" in result:
        ref = result["reference_response"]
        parts = [f"{n}: {fmt(result['models'][n]['response']['below_db'], 2)} dB below / "
                 f"{fmt(result['models'][n]['response']['above_db'], 2)} dB above"
                 for n in responses]
        save(plot_responses(responses, reference_freqs_hz=ref["freqs_hz"],
                            reference_db=ref["magnitude_db"], cutoff_hz=cfg.cutoff_hz,
                            title="Magnitude response of each model and of the effect"),
             "responses",
             f"Magnitude response of each model measured at {cfg.response_level_dbfs:g} dBFS "
             f"(sample-level models: a {cfg.response_method}; windowed models: an "
             f"{cfg.windowed_response_method} of {cfg.windowed_response_samples} samples) against "
             f"the effect's ({ref['source']}); the dashed line marks the {cfg.cutoff_hz:g} Hz "
             f"cutoff and the -3 dB point. Largest deviation from the effect "
             f"(below / above the cutoff): " + "; ".join(parts) + ".")
    bands = {name: metrics.third_octave_band_errors(*per_split[split], sr=sr)
             for name, per_split in outputs.items()}
    save(plot_band_errors(bands, title=f"Level error per third-octave band ({split_label})"),
         f"band_errors_{split}",
         f"Output level minus target level in each third-octave band on {split_label}: 0 dB "
         f"everywhere means the spectrum is preserved; the thesis's Figs. 12-13 showed it was not.")
    combined = result.get("combined", {})
    if combined.get("models"):
        save(plot_model_comparison(
            {n: v["mse"] for n, v in combined["models"].items()},
            metric="MSE over V2 then V1, the thesis's measure (log scale)",
            reference_values={THESIS_SHORT[k]: v for k, v in THESIS_VALIDATION_MSE.items()},
            reference_label="thesis", title="The thesis's measure: this run and the thesis (Fig. 20)"),
            "comparison",
            f"Each model of this run on the thesis's measure ({combined['definition']}; red) and "
            f"the final validation MSE the thesis reports for its networks on its own recordings "
            f"(grey, hatched, labelled 'thesis'; sections 4.1-4.3, its Fig. 20).")
    if result.get("levels", {}).get("models"):
        save(plot_esr_vs_level(result["levels"], title="Error against input level"), "levels",
             levels_caption(result["levels"]))
    curves, marks = _learning_curves(run, result)
    if curves:
        save(plot_learning_curves(curves, marks=marks,
                                  title="The thesis's networks: learning curves"),
             "learning_curves",
             "Validation MSE (the windows of V1 and V2 pooled) of each of the thesis's networks "
             "against the training windows seen (left) and training wall time (right): this run "
             "and fxlab's reference run (the thesis profile, shipped with fxlab; another machine's "
             "wall time where stated), with the thesis's reported figure dashed.")
    return figs
