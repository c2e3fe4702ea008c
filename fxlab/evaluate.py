"""Evaluation: render every trained model on the validation splits, measure, plot, tabulate.

The thesis's quantitative tests (section 3.5.1: MSE, and for the CNN a 12-bit "accuracy"), the
spectral comparison it made by eye (Figs. 12-13) made into numbers, and its results beside ours.

- :data:`THESIS_VALIDATION_MSE`  the thesis's reported validation errors (sections 4.1-4.3)
- :class:`EvalConfig`        every setting of an evaluation (frozen; notebook 03 builds it)
- :func:`find_models`        the trained models of a run folder (``models/<name>/``)
- :func:`render`             one model's output for a whole signal, through the fastest exact path
- :func:`score`              every metric of one (target, output) pair (any material, a user's file)
- :func:`evaluate_run`       render, measure and plot every model; writes ``rendered/``,
  ``metrics.json``, ``metrics.csv`` and ``figures/``; returns an :class:`Evaluation`
- :func:`answers`            the thesis's two questions answered from a run's metrics
- :func:`results_table_html` the report's results table (with the thesis's rows) and answers
- :func:`audio_players_html` HTML audio players: target and each model's output, short excerpts

Choices (where the thesis is silent)
------------------------------------
- Windowed (thesis) models cost a whole window of recurrent steps per output sample, so on a CPU
  they are evaluated on an excerpt of each clip (``windowed_eval_seconds``: the loudest stretch of
  the target, with ``context_samples`` of input before it so the window is full); the table says
  so. Sample-level models run on whole clips (``sample_eval_seconds = 0``).
- Metrics of an excerpt are computed on the same excerpt for target and output.
- "Preserves the spectrum" means: log-spectral distance on every split <= ``lsd_threshold_db``
  and, for a linear effect, the measured magnitude response within ``response_threshold_db`` of the
  effect's on both sides of the cutoff (20 Hz-20 kHz). Both thresholds default to 1 dB, about
  the smallest level change listeners notice on broadband material.
- "Does best" means: the lowest MSE on Validation 2 (speech), the thesis's own measure on the clip
  its section 4.1.1 says to focus on.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import soundfile as sf

from fxlab import metrics, plots, progress
from fxlab.errors import ParameterError, PipelineError, problem, unknown_name
from fxlab.util import Html, NotebookConfig, fmt, html_table, jsonable, write_json

__all__ = [
    "THESIS_VALIDATION_MSE",
    "EvalConfig",
    "FigureInfo",
    "Evaluation",
    "find_models",
    "render",
    "score",
    "evaluate_run",
    "answers",
    "results_table_html",
    "audio_players_html",
]

THESIS_VALIDATION_MSE: dict[str, float] = {
    "LSTM, 384 units, 1024 window (4.1.1)": 7.9e-5,
    "reduced LSTM, 160 units, 512 window (4.1.3)": 3.03e-3,
    "GRU (4.2)": 7.823e-3,
    "dilated CNN (4.3)": 1.905e-2,
}
"""The thesis's final validation MSE per network, as it reports them (sections 4.1.1-4.3); it does
not say on which validation clip each was measured."""

_THESIS_SHORT = {"LSTM, 384 units, 1024 window (4.1.1)": "LSTM",
                 "reduced LSTM, 160 units, 512 window (4.1.3)": "reduced LSTM",
                 "GRU (4.2)": "GRU", "dilated CNN (4.3)": "CNN"}

SPLIT_LABELS = {"val1": "V1", "val2": "V2"}
SPLIT_NAMES = {"val1": "Validation 1 (synthetic signals, unseen seeds)",
               "val2": "Validation 2 (recorded speech)"}
_RESPONSE_METHODS = metrics.RESPONSE_METHODS


@dataclass(frozen=True)
class EvalConfig(NotebookConfig):
    """Every setting of an evaluation: notebook 03's parameters, frozen (field names equal them).

    The notebook builds it in one line: ``config = evaluate.EvalConfig.from_parameters(globals())``.

    Attributes
    ----------
    run_dir : str
        The run folder holding ``data/`` and ``models/``.
    seed : int
        The study's seed (the evaluation itself draws no random numbers).
    windowed_eval_seconds : float >= 0
        Length of the excerpt of each clip the windowed (thesis) models are evaluated on, seconds;
        0 means whole clips.
    sample_eval_seconds : float >= 0
        The same for sample-level models (0: whole clips, the default).
    context_samples : int >= 0
        Input samples fed before an excerpt (outputs discarded) so windows and states are warm;
        for a windowed model at most its window - 1 (all its output can see).
    response_method : {"sweep", "impulse"}
        Test signal of the magnitude response of sample-level models.
    windowed_response_method : {"sweep", "impulse"}
        The same for windowed models (an impulse: far fewer samples to render).
    response_level_dbfs : float <= 0
        Peak level of the test signal, dB full scale.
    response_seconds : float > 0
        Length of the sweep (sample-level models), seconds.
    windowed_response_samples : int >= 64
        Length of the test signal for windowed models, samples (plus a tail of the same length);
        an impulse response of a windowed model is at most one window long, so twice the window
        suffices.
    cutoff_hz : float > 0
        Where deviations are split into "below" and "above" (the study's 440 Hz high-pass).
    lsd_threshold_db, response_threshold_db : float > 0
        The thresholds of "preserves the spectrum" (see the module docstring).
    figure_split : str
        The split drawn in the time, spectrum and spectrogram figures.
    figure_seconds : float > 0
        Length of the excerpt drawn in the time and spectrogram figures, seconds.
    player_seconds : float > 0
        Length of each audio player's excerpt, seconds.

    The validation splits rendered and measured are :attr:`splits` (Validation 1 and 2).
    """

    splits: ClassVar[tuple[str, ...]] = ("val1", "val2")

    run_dir: str = "../reports/lab"
    seed: int = 0
    windowed_eval_seconds: float = 0.5
    sample_eval_seconds: float = 0.0
    context_samples: int = 2048
    response_method: str = "sweep"
    windowed_response_method: str = "impulse"
    response_level_dbfs: float = -12.0
    response_seconds: float = 1.0
    windowed_response_samples: int = 4096
    cutoff_hz: float = 440.0
    lsd_threshold_db: float = 1.0
    response_threshold_db: float = 1.0
    figure_split: str = "val2"
    figure_seconds: float = 2.0
    player_seconds: float = 3.0

    def __post_init__(self):
        for name in ("windowed_eval_seconds", "sample_eval_seconds"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ParameterError(problem(
                    name, found=repr(v), expected="a length in seconds >= 0 (0: whole clips)",
                    fix=f"set {name} = 0.5 (or 0 for whole clips)"))
        for name in ("response_seconds", "figure_seconds", "player_seconds", "cutoff_hz",
                     "lsd_threshold_db", "response_threshold_db"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ParameterError(problem(
                    name, found=repr(v), expected="a number > 0",
                    fix=f"set {name} to a positive value (default {getattr(EvalConfig, name)})"))
        for name in ("response_method", "windowed_response_method"):
            if getattr(self, name) not in _RESPONSE_METHODS:
                raise unknown_name("response method", getattr(self, name), _RESPONSE_METHODS)
        if not (isinstance(self.response_level_dbfs, int | float) and self.response_level_dbfs <= 0):
            raise ParameterError(problem(
                "response_level_dbfs", found=repr(self.response_level_dbfs),
                expected="a level in dB full scale <= 0", fix="use e.g. -12"))
        if not (isinstance(self.context_samples, int) and self.context_samples >= 0):
            raise ParameterError(problem(
                "context_samples", found=repr(self.context_samples),
                expected="an integer >= 0", fix="use e.g. 2048 (more than the longest window)"))
        if not (isinstance(self.windowed_response_samples, int)
                and self.windowed_response_samples >= 64):
            raise ParameterError(problem(
                "windowed_response_samples", found=repr(self.windowed_response_samples),
                expected="an integer >= 64", fix="use e.g. 4096"))



@dataclass(frozen=True)
class FigureInfo:
    """A saved figure: ``path`` (PNG in ``run_dir/figures``), ``caption`` (one paragraph)."""

    path: Path
    caption: str


@dataclass
class Evaluation:
    """What :func:`evaluate_run` made.

    Attributes
    ----------
    run_dir : Path
    metrics : dict
        The content of ``metrics.json``.
    figures : list of FigureInfo
        In the order the report shows them.
    """

    run_dir: Path
    metrics: dict
    figures: list[FigureInfo] = field(default_factory=list)

    def table_html(self) -> str:
        """The results table of this run (see :func:`results_table_html`)."""
        return results_table_html(self.run_dir)


# ------------------------------------------------------------------ models and rendering


def find_models(run_dir: str | os.PathLike) -> list:
    """The trained models of a run: ``fxlab.training.load_trained`` on each ``models/<name>/``.

    Folders without ``model.keras`` (a training that did not finish) are skipped. Sorted by name.

    Raises
    ------
    PipelineError
        If ``run_dir/models`` holds no trained model.
    """
    from fxlab.training import load_trained

    root = Path(run_dir) / "models"
    dirs = sorted(p for p in root.iterdir() if (p / "model.keras").exists()) if root.is_dir() else []
    if not dirs:
        raise PipelineError(problem(
            root, found="no trained model (no models/<name>/model.keras)",
            expected="at least one model trained by step 02_train",
            fix="run notebook 02_train first (fxlab run --steps 02_train)"))
    return [load_trained(d) for d in dirs]


def render(trained, x) -> tuple[np.ndarray, str]:
    """One model's output for a whole signal, from a zero state, and what ran it.

    ``trained.predict(x)``: the runtime's fast exact path (:func:`fxlab.runtime.render`).

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
    engine : str
        What ran the network (``"numba"``, ``"keras"``), from the model's processor.
    """
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    y = np.asarray(trained.predict(x), dtype=np.float32).reshape(-1)
    proc = getattr(trained, "_processor", None)
    how = getattr(proc, "engine_name", "predict")
    if y.size != x.size:
        raise PipelineError(problem(
            f"model {trained.name!r}", found=f"{y.size} output samples for {x.size} input samples",
            expected="one output sample per input sample",
            fix="check the model's predict() (windowed models pad the start)"))
    return y, how


def _loudest_start(target: np.ndarray, n: int, *, sr: int) -> int:
    """Start (samples) of the length-``n`` stretch of ``target`` with the most energy."""
    if n >= target.size:
        return 0
    hop = max(1, sr // 100)
    c = np.concatenate([[0.0], np.cumsum(target.astype(np.float64) ** 2)])
    starts = np.arange(0, target.size - n + 1, hop)
    return int(starts[np.argmax(c[starts + n] - c[starts])])


def _excerpt(split, seconds: float, context: int, sr: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(dry with context, wet excerpt, start, context used) for an excerpt of ``seconds``."""
    dry, wet = np.asarray(split.dry, np.float32), np.asarray(split.wet, np.float32)
    n = int(round(seconds * sr))
    if seconds <= 0 or n >= wet.size:
        return dry, wet, 0, 0
    start = _loudest_start(wet, n, sr=sr)
    ctx = min(context, start)
    return dry[start - ctx:start + n], wet[start:start + n], start, ctx


def score(target, output, *, sr: int) -> dict[str, Any]:
    """Every metric of one (target, output) pair: the numbers a row of ``metrics.json`` holds.

    For any material, e.g. a user's own recording:
    ``pair = fxlab.audio.load_pair(dry, wet)``, ``y, _ = render(trained, pair.dry)``,
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
    if callable(fn):
        try:
            return np.asarray(fn(freqs, sr=sr), dtype=float), "the effect's transfer function"
        except Exception:  # an effect without a closed form: measure it like the models
            pass
    r = metrics.measure_response(lambda v: effect(v, sr), sr=sr, level_dbfs=cfg.response_level_dbfs,
                                 method="sweep", n=int(cfg.response_seconds * sr))
    return np.interp(np.log(freqs), np.log(r.freqs_hz), r.magnitude_db), "measured (sweep)"


def evaluate_run(config: EvalConfig, *, models: Iterable | None = None) -> Evaluation:
    """Render, measure and plot every trained model of a run folder.

    Reads ``run_dir/data`` (:func:`fxlab.datasets.load_dataset`) and the models of
    ``run_dir/models`` (or ``models``, objects with ``.name``, ``.family``, ``.param_count`` and
    ``.predict(x)``). Writes:

    - ``rendered/<model>/<split>.wav``: the model's output (float32, the data set's rate; an
      excerpt where the model was evaluated on one) and ``rendered/target/<split>.wav`` likewise
    - ``metrics.json``: every number, the settings, the thesis's values and the two answers
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
    responses: dict[str, metrics.Response] = {}
    grid = None
    for k, trained in enumerate(trained_list, 1):
        progress.note(f"evaluating {trained.name} ({k}/{len(trained_list)})")
        family = getattr(trained, "family", "sample")
        seconds = cfg.windowed_eval_seconds if family == "windowed" else cfg.sample_eval_seconds
        context = cfg.context_samples
        window = getattr(trained, "window", None)
        if family == "windowed" and isinstance(window, int) and window > 0:
            context = min(context, window - 1)  # a windowed output sees only its window
        entry: dict[str, Any] = {"family": family,
                                 "param_count": int(getattr(trained, "param_count", 0) or 0),
                                 "splits": {}, "render": {}}
        outputs[trained.name] = {}
        for split_name in cfg.splits:
            split = data.split(split_name)
            dry, wet, start, ctx = _excerpt(split, seconds, context, sr)
            t0 = time.perf_counter()
            y, how = render(trained, dry)
            wall = time.perf_counter() - t0
            y = y[ctx:]
            outputs[trained.name][split_name] = (wet, y)
            _write_wav(run / "rendered" / trained.name / f"{split_name}.wav", y, sr)
            m = _split_metrics(wet, y, sr)
            m.update({"start_s": start / sr, "seconds": wet.size / sr,
                      "whole_clip": wet.size == np.asarray(split.wet).size})
            entry["splits"][split_name] = m
            entry["render"][split_name] = {"path": how, "wall_s": wall,
                                           "samples": int(dry.size)}
        if linear:
            if family == "windowed":
                meth, n = cfg.windowed_response_method, cfg.windowed_response_samples
                tail = n
            else:
                meth, n = cfg.response_method, int(round(cfg.response_seconds * sr))
                tail = None
            r = metrics.measure_response(
                lambda v, _t=trained: render(_t, v)[0], sr=sr,
                level_dbfs=cfg.response_level_dbfs, method=meth, n=n, tail=tail)
            responses[trained.name] = r
            grid = r.freqs_hz
        result["models"][trained.name] = entry

    if linear and responses:
        ref_db, source = _reference_response(effect, grid, sr, cfg)
        result["reference_response"] = {"source": source, "freqs_hz": grid, "magnitude_db": ref_db}
        for name, r in responses.items():
            ref_at = np.interp(np.log(r.freqs_hz), np.log(grid), ref_db)
            dev = metrics.response_deviation(r, ref_at, cutoff_hz=cfg.cutoff_hz)
            result["models"][name]["response"] = {
                "method": r.method, "level_dbfs": r.level_dbfs, "below_db": dev.below_db,
                "above_db": dev.above_db, "freqs_hz": r.freqs_hz, "magnitude_db": r.magnitude_db}

    # targets, written once per split (the whole clip, and each excerpt used)
    for split_name in cfg.splits:
        _write_wav(run / "rendered" / "target" / f"{split_name}.wav",
                   np.asarray(data.split(split_name).wet, np.float32), sr)

    result = jsonable(result)
    result["answers"] = answers(result)
    write_json(run / "metrics.json", result, indent=1)
    _write_csv(run / "metrics.csv", result)
    figures = _make_figures(run, fig_dir, data, cfg, result, outputs, responses, sr)
    return Evaluation(run, result, figures)


def _write_wav(path: Path, y: np.ndarray, sr: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.asarray(y, np.float32), sr, subtype="FLOAT")


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


def _make_figures(run, fig_dir, data, cfg, result, outputs, responses, sr) -> list[FigureInfo]:
    figs: list[FigureInfo] = []

    def save(fig, stem, caption):
        p = plots.save_figure(fig, fig_dir / f"{stem}.png")
        figs.append(FigureInfo(p, caption))

    split = cfg.figure_split if cfg.figure_split in cfg.splits else cfg.splits[0]
    split_label = SPLIT_NAMES.get(split, split)
    n_fig = int(round(cfg.figure_seconds * sr))
    for name, per_split in outputs.items():
        target, y = per_split[split]
        e = result["models"][name]["splits"][split]
        where = ("whole clip" if e["whole_clip"] else
                 f"a {e['seconds']:.2g} s excerpt from {e['start_s']:.2f} s")
        a = _loudest_start(target, n_fig, sr=sr)
        tt, yy = target[a:a + n_fig], y[a:a + n_fig]
        save(plots.plot_time_comparison(tt, yy, sr=sr, labels=("target", name),
                                        title=f"{name}: target, output and difference ({split_label})"),
             f"time_{name}_{split}",
             f"{name} on {split_label} ({where}; drawn: {tt.size / sr:.2g} s): the effect's output "
             f"(top), the model's (middle) and their difference (bottom), as the thesis's Figs. 11, "
             f"15, 17 and 19. MSE {e['mse']:.3g}, ESR {fmt(e['esr'])}.")
        save(plots.plot_spectra(target, y, sr=sr, labels=("target", name),
                                title=f"{name}: long-term spectra ({split_label})"),
             f"spectra_{name}_{split}",
             f"Long-term spectra of the target and of {name}'s output on {split_label} ({where}), "
             f"as the thesis's Figs. 12-13, with their difference in dB below; log-spectral "
             f"distance {e['lsd_db']:.2f} dB over 20 Hz-20 kHz.")
        save(plots.plot_spectrograms(tt, yy, sr=sr, labels=("target", name),
                                     title=f"{name}: spectrograms ({split_label})"),
             f"spectrogram_{name}_{split}",
             f"Spectrograms of the target (left) and of {name}'s output (middle) on {split_label}, "
             f"and the output's level minus the target's (right, red: too loud, blue: too quiet).")
    if responses and "reference_response" in result:
        ref = result["reference_response"]
        parts = [f"{n}: {fmt(result['models'][n]['response']['below_db'], 2)} dB below / "
                 f"{fmt(result['models'][n]['response']['above_db'], 2)} dB above"
                 for n in responses]
        save(plots.plot_responses(responses, reference_freqs_hz=ref["freqs_hz"],
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
    save(plots.plot_band_errors(bands, title=f"Level error per third-octave band ({split_label})"),
         f"band_errors_{split}",
         f"Output level minus target level in each third-octave band on {split_label}: 0 dB "
         f"everywhere means the spectrum is preserved; the thesis's Figs. 12-13 showed it was not.")
    v2 = "val2" if "val2" in cfg.splits else cfg.splits[-1]
    values = {n: result["models"][n]["splits"][v2]["mse"] for n in outputs}
    save(plots.plot_model_comparison(
        values, metric=f"MSE on {SPLIT_LABELS.get(v2, v2)} (log scale)",
        reference_values={_THESIS_SHORT[k]: v for k, v in THESIS_VALIDATION_MSE.items()},
        reference_label="thesis", title="Validation MSE: this run and the thesis (Fig. 20)"),
        "comparison",
        f"Validation MSE of each model of this run on {SPLIT_NAMES.get(v2, v2)} (red) and the "
        f"final validation MSE the thesis reports for its networks (grey, hatched, labelled "
        f"'thesis'; sections 4.1-4.3, its Fig. 20). The thesis's networks were trained on other "
        f"data and sizes; its numbers are quoted, not rerun.")
    return figs


# ------------------------------------------------------------------ answers and table


def answers(result: Mapping[str, Any]) -> dict[str, str]:
    """The thesis's two questions, answered in a sentence each from a run's metrics.

    Parameters
    ----------
    result : dict
        The content of ``metrics.json``.

    Returns
    -------
    dict with keys ``"spectrum"`` (does the network preserve the frequency spectrum) and
    ``"best"`` (which architecture does best).
    """
    cfg = result.get("config", {})
    lsd_t = float(cfg.get("lsd_threshold_db", 1.0))
    resp_t = float(cfg.get("response_threshold_db", 1.0))
    models = result.get("models", {})
    if not models:
        return {"spectrum": "No model was evaluated.", "best": "No model was evaluated."}
    yes, no = [], []
    for name, e in models.items():
        lsd = max(m["lsd_db"] for m in e["splits"].values())
        r = e.get("response")
        dev = max(r["below_db"], r["above_db"]) if r else None
        ok = lsd <= lsd_t and (dev is None or dev <= resp_t)
        text = (f"{name} (largest LSD {lsd:.2f} dB"
                + (f", largest response deviation {dev:.2f} dB)" if dev is not None else ")"))
        (yes if ok else no).append(text)
    crit = (f"log-spectral distance ≤ {lsd_t:g} dB on every split"
            + (f" and magnitude response within {resp_t:g} dB of the effect's, 20 Hz–20 kHz"
               if any("response" in e for e in models.values()) else ""))
    if yes and not no:
        spectrum = f"Yes: every model preserves the spectrum ({crit}): " + "; ".join(yes) + "."
    elif yes:
        spectrum = (f"Partly: {'; '.join(yes)} preserve the spectrum ({crit}); "
                    f"{'; '.join(no)} do not.")
    else:
        spectrum = f"No: no model meets the criterion ({crit}): " + "; ".join(no) + "."
    split = "val2" if all("val2" in e["splits"] for e in models.values()) else \
        next(iter(next(iter(models.values()))["splits"]))
    ranked = sorted(models, key=lambda n: models[n]["splits"][split]["mse"])
    best = ranked[0]
    best_mse = models[best]["splits"][split]["mse"]
    thesis_best = min(THESIS_VALIDATION_MSE.values())
    if best_mse > 0:
        factor = max(thesis_best / best_mse, best_mse / thesis_best)
        vs = (f" ({factor:.3g}× {'lower' if best_mse < thesis_best else 'higher'} than the "
              f"thesis's best, its LSTM's {thesis_best:.3g})")
    else:
        vs = f" (the thesis's best, its LSTM's, was {thesis_best:.3g})"
    clipped = [n for n in models if not models[n]["splits"][split].get("whole_clip", True)]
    best_text = (f"{best} ({models[best]['family']}, {models[best]['param_count']:,} parameters) "
                 f"does best, with MSE {best_mse:.3g} on {SPLIT_NAMES.get(split, split)}"
                 + vs
                 + (f"; ranking: {' < '.join(ranked)}" if len(ranked) > 1 else "")
                 + (f" (excerpts only for {', '.join(clipped)})" if clipped else "") + ".")
    return {"spectrum": spectrum, "best": best_text}


def _read_rtf(run: Path) -> dict[str, float]:
    """Per-model real-time factors from ``latency.json``.

    ``models.<name>.summary.rtf`` (64-sample blocks, the default engine: what
    :mod:`fxlab.latency` writes), else ``models.<name>.rtf``; a file that holds neither gives {}.
    """
    p = run / "latency.json"
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, OSError):
        return {}
    found: dict[str, float] = {}
    models = data.get("models") if isinstance(data, dict) else None
    if isinstance(models, dict):
        for name, entry in models.items():
            if not isinstance(entry, dict):
                continue
            summary = entry.get("summary")
            rtf = summary.get("rtf") if isinstance(summary, dict) else None
            if rtf is None:
                rtf = entry.get("rtf")
            if isinstance(rtf, int | float) and math.isfinite(rtf):
                found[str(name)] = float(rtf)
    return found


def results_table_html(run_dir: str | os.PathLike) -> str:
    """The report's results table and the answers to the thesis's two questions, as HTML.

    One row per evaluated model (model, family, parameters, MSE and ESR on V1 and V2, 12-bit
    accuracy, log-spectral distance, largest response deviation, real-time factor from
    ``latency.json`` when present, what was evaluated), then the thesis's own validation MSE in
    rows labelled as the thesis's, then one sentence per question.

    Raises
    ------
    PipelineError
        If ``run_dir/metrics.json`` does not exist.
    """
    run = Path(run_dir)
    p = run / "metrics.json"
    if not p.exists():
        raise PipelineError(problem(
            p, found="no metrics.json", expected="the output of step 03_evaluate",
            fix="run notebook 03_evaluate (fxlab run --steps 03_evaluate)"))
    result = json.loads(p.read_text())
    rtf = _read_rtf(run)
    models = result.get("models", {})
    splits = [s for s in ("val1", "val2") if any(s in e["splits"] for e in models.values())]
    head = ["model", "family", "parameters"]
    head += [f"MSE {SPLIT_LABELS[s]}" for s in splits] + [f"ESR {SPLIT_LABELS[s]}" for s in splits]
    head += ["12-bit accuracy", "log-spectral distance (dB)", "response deviation below / above "
             f"{result.get('config', {}).get('cutoff_hz', 440):g} Hz (dB)",
             "real-time factor (64-sample blocks)", "evaluated on"]
    rows = []
    for name, e in models.items():
        sp = e["splits"]
        acc = " / ".join(f"{100 * sp[s]['accuracy_12bit']:.1f} %" for s in splits if s in sp)
        lsd = " / ".join(f"{sp[s]['lsd_db']:.2f}" for s in splits if s in sp)
        r = e.get("response")
        dev = f"{fmt(r['below_db'], 2)} / {fmt(r['above_db'], 2)}" if r else None
        whole = all(sp[s].get("whole_clip", True) for s in sp)
        seconds = max(sp[s]["seconds"] for s in sp)
        where = "whole clips" if whole else f"{seconds:.2g} s excerpts (loudest)"
        rows.append([Html(f"<b>{html.escape(name)}</b>"), e["family"], int(e["param_count"]),
                     *[sp[s]["mse"] if s in sp else None for s in splits],
                     *[sp[s]["esr"] if s in sp else None for s in splits],
                     acc, lsd, dev, rtf.get(name), where])
    n_mse = len(splits)
    for label, v in result.get("thesis_validation_mse", THESIS_VALIDATION_MSE).items():
        # the thesis reports one validation MSE per network and not on which clip: it goes in the
        # first MSE column, saying so
        mse = [f"{fmt(v, 4)} (validation MSE as reported, clip not stated)"] + [None] * (n_mse - 1)
        rows.append([Html(f'<i class="fxlab-thesis">thesis: {html.escape(label)}</i>'), "windowed",
                     None, *mse, *[None] * (len(head) - 4 - n_mse), "the thesis's own runs"])
    ans = result.get("answers") or answers(result)
    caption = ("Results on the validation clips: V1 = synthetic signals with unseen seeds, "
               "V2 = recorded speech. MSE and 12-bit accuracy as the thesis (section 3.5.1); "
               "ESR = error energy / target energy; log-spectral distance over 20 Hz–20 kHz "
               "(V1 / V2); real-time factor from latency.json (processing time / audio time, "
               "below 1 is faster than real time). Grey rows: the thesis's reported numbers, "
               "not rerun.")
    out = [_RESULTS_STYLE,
           html_table(head, rows, caption=caption, css_class="fxlab-table fxlab-results"),
           '<p class="fxlab-answer"><b>Does the network preserve the frequency spectrum?</b> '
           f"{html.escape(ans['spectrum'])}</p>",
           '<p class="fxlab-answer"><b>Which architecture does best?</b> '
           f"{html.escape(ans['best'])}</p>"]
    return "\n".join(out)


#: Grey rows for the thesis's numbers, in a notebook as in the report (rows holding its label).
_RESULTS_STYLE = ("<style>.fxlab-results{border-collapse:collapse;font-size:.9em}"
                  ".fxlab-results th,.fxlab-results td{border:1px solid #ccc;padding:.2em .5em}"
                  ".fxlab-results tr:has(.fxlab-thesis){color:#666;background:#f4f4f4}</style>")


def audio_players_html(run_dir: str | os.PathLike, *, split: str = "val2",
                       seconds: float = 3.0) -> str:
    """HTML audio players: the target and each model's rendered output, the same short excerpt.

    Models scored on the same stretch of the clip (all whole-clip models; all windowed models
    scored on the same excerpt) share one group: the target and their outputs over the loudest
    ``seconds`` of that stretch. Audio is embedded as 16-bit WAV (base64), so the HTML
    plays in a notebook and in a saved report.

    Parameters
    ----------
    run_dir : path
        A run folder after :func:`evaluate_run`.
    split : str
        ``"val1"`` or ``"val2"``.
    seconds : float > 0
        Length of each excerpt.
    """
    run = Path(run_dir)
    result_p = run / "metrics.json"
    if not result_p.exists():
        raise PipelineError(problem(
            result_p, found="no metrics.json", expected="the output of step 03_evaluate",
            fix="run notebook 03_evaluate first"))
    if not (isinstance(seconds, int | float) and seconds > 0):
        raise ParameterError(problem("seconds", found=repr(seconds), expected="a length > 0 s",
                                     fix="use e.g. 3"))
    result = json.loads(result_p.read_text())
    models = result["models"]
    if not any(split in e["splits"] for e in models.values()):
        raise unknown_name("evaluated split", split,
                           sorted({s for e in models.values() for s in e["splits"]}))
    target, sr = sf.read(str(run / "rendered" / "target" / f"{split}.wav"), dtype="float32")
    # models scored on the same stretch share a group: the target and their outputs, one excerpt
    groups: dict[tuple[int, int], list[str]] = {}
    for name, e in models.items():
        m = e["splits"].get(split)
        if m:
            s0 = int(round(m["start_s"] * sr))
            groups.setdefault((s0, s0 + int(round(m["seconds"] * sr))), []).append(name)
    n = int(round(seconds * sr))
    out = [f"<p><b>{html.escape(SPLIT_NAMES.get(split, split))}</b></p>"]
    for (lo, hi), names in sorted(groups.items(), key=lambda g: g[0][0] - g[0][1]):
        start = lo + _loudest_start(target[lo:hi], min(n, hi - lo), sr=sr)
        stop = min(start + n, hi)
        note = "" if (lo, hi) == (0, target.size) else " (the excerpt these models were scored on)"
        clips = [("target (the effect)", target[start:stop])]
        for name in names:
            y, _ = sf.read(str(run / "rendered" / name / f"{split}.wav"), dtype="float32")
            clips.append((name, y[start - lo:stop - lo]))
        rows = []
        for label, sig in clips:
            buf = io.BytesIO()
            sf.write(buf, np.clip(sig, -1, 1), sr, format="WAV", subtype="PCM_16")
            b64 = base64.b64encode(buf.getvalue()).decode("ascii")
            rows.append((label, Html(f'<audio controls preload="none" '
                                     f'src="data:audio/wav;base64,{b64}"></audio>')))
        out.append(html_table(("clip", "audio"), rows,
                              caption=f"{(stop - start) / sr:.2g} s from {start / sr:.2f} s{note}",
                              css_class="fxlab-table fxlab-players"))
    return "\n".join(out)
