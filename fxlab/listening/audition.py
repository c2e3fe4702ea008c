"""Audition a knob-conditioned model against its effect at any knob setting (ipywidgets).

A network conditioned on an effect's knobs learnt the effect at a few settings (the data set's
``conditioning["train_settings"]``); between them it interpolates. This widget lets a listener
move each knob and hear, on real material, the effect and the model at that setting, with the
error between them, and says whether the setting was one the model was trained on.

- :class:`KnobAudition`       one slider per knob, a clip chooser, three players (the effect, the
  model, the dry input; loudness-matched as the listening test's clips), the ESR at the setting
- :func:`knob_audition`       the widget when someone is at the keyboard, a table of the ESR at a
  few settings otherwise (papermill), a note when no model of the run is conditioned
- :func:`audition_clips`      the clips: the shipped instrument recordings and the data set's speech
- :func:`render_setting`      one clip through the effect and the model at one setting, and the ESR
- :func:`setting_status`      ``"seen"`` (a training setting), ``"held out"`` (a validation
  setting) or ``"unseen"``
- :func:`audition_settings`   a few settings along each knob (the training grid and between it)
- :func:`audition_summary`    the ESR of each clip at each of those settings (records)
- :func:`summary_html`        those records as a table
- :func:`conditioned_models`  the knob-conditioned models of a run folder
- :func:`run_conditioning`    a run's effect and its data set's ``conditioning`` record

The model runs through :meth:`fxlab.training.TrainedModel.predict` (the compiled kernel: a 3 s
clip of an LSTM-32 in tens of milliseconds), the effect through ``effect.with_knobs(**setting)``
directly, so a slider released renders at once.
"""

from __future__ import annotations

import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fxlab import metrics
from fxlab.audio import STUDY_SR, loudest_start
from fxlab.errors import AudioFileError, ParameterError, SilenceError, problem, unknown_name
from fxlab.listening.clips import fade
from fxlab.listening.loudness import match_gains
from fxlab.util import Html, html_table

if TYPE_CHECKING:
    from fxlab.effects import Effect, Knob
    from fxlab.listening.config import ListeningConfig

__all__ = [
    "SLIDER_STEPS",
    "KnobAudition",
    "audition_clips",
    "audition_settings",
    "audition_summary",
    "conditioned_models",
    "knob_audition",
    "render_setting",
    "run_conditioning",
    "setting_status",
    "summary_html",
]

#: Steps of a knob's slider over its whole range (on the knob's own scale).
SLIDER_STEPS = 200
#: Two settings are the same when every knob is this close on the normalised [0, 1] scale.
_SAME_SETTING = 0.5 / SLIDER_STEPS
_VERSIONS = ("effect", "model", "dry")


# ---- the material ------------------------------------------------------------------------------


def _cut(x: np.ndarray, n: int, sr: int) -> np.ndarray:
    """The loudest ``n`` samples of ``x`` (on a 10 ms grid), or all of it when shorter."""
    x = np.asarray(x, np.float32).reshape(-1)
    if x.size <= n:
        return x
    start = loudest_start(x, n, hop=max(sr // 100, 1))
    return x[start : start + n]


def audition_clips(run_dir: str | os.PathLike | None = None, *, sr: int = STUDY_SR,
                   seconds: float = 3.0, peak_dbfs: float | None = -12.0) -> dict[str, np.ndarray]:
    """The clips to audition on: the shipped instrument recordings and the study's speech.

    Parameters
    ----------
    run_dir : path, optional
        A run folder: its data set's Validation 2 input (``data/val2/dry.wav``, the speech the
        study holds out) is the speech clip; without it (or the file), the shipped speech
        recording (:mod:`fxlab.recordings`) is.
    sr : int > 0 [Hz]
        The model's sample rate; recordings at another rate are resampled.
    seconds : float > 0 [s]
        Length of each clip: the loudest stretch of the recording (whole when shorter).
    peak_dbfs : float or None
        Each recording scaled so its peak sits here before it is cut (the level the evaluation
        scores conditioned models at: :func:`fxlab.evaluate.score_over_knobs`, -12 dBFS); None
        keeps the files' levels. A drive's sound depends on the level it is fed.

    Returns
    -------
    clips : dict of str -> np.ndarray [shape=(n,), float32]
        ``"speech"`` first, then every instrument of :func:`fxlab.recordings.list_recordings`.
    """
    from fxlab import recordings
    from fxlab.audio import read_wav, resample

    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise ParameterError(problem(f"seconds={seconds!r}", found=repr(seconds),
                                     expected="a length in seconds > 0", fix="pass seconds=3.0"))
    n = max(int(round(float(seconds) * sr)), 1)
    speech_file = Path(run_dir) / "data" / "val2" / "dry.wav" if run_dir is not None else None
    if speech_file is not None and speech_file.is_file():
        speech, file_sr = read_wav(speech_file, mono="mix")
        if file_sr != sr:
            speech = resample(speech, file_sr, sr)
    else:
        speech = recordings.load_recording("speech", sr=sr)
    peak = float(np.max(np.abs(speech))) if speech.size else 0.0
    if peak_dbfs is not None and peak > 0:
        speech = np.asarray(speech * (10.0 ** (float(peak_dbfs) / 20.0) / peak), np.float32)
    clips = {"speech": _cut(speech, n, sr)}
    for name in recordings.list_recordings("instrument"):
        clips[name] = _cut(recordings.load_recording(name, sr=sr, peak_dbfs=peak_dbfs), n, sr)
    return clips


# ---- settings ------------------------------------------------------------------------------------


def _describe(setting: Mapping[str, float], knobs: Sequence[Knob]) -> str:
    return ", ".join(f"{k.name}={setting[k.name]:.4g}" + (f" {k.unit}" if k.unit else "")
                     for k in knobs if k.name in setting)


def _same(a: Mapping[str, float], b: Mapping[str, float], knobs: Sequence[Knob]) -> bool:
    return all(k.name in b and abs(k.normalise(float(a[k.name])) - k.normalise(float(b[k.name])))
               <= _SAME_SETTING for k in knobs)


def setting_status(setting: Mapping[str, float], knobs: Sequence[Knob], *,
                   train_settings: Sequence[Mapping[str, float]] = (),
                   val_settings: Sequence[Mapping[str, float]] = ()) -> str:
    """Whether the model saw ``setting`` in training.

    Two settings are the same when every knob is within half a slider step (1/400 of its range on
    its own scale).

    Parameters
    ----------
    setting : {knob name: value}
        Every knob of ``knobs``, in knob units.
    knobs : sequence of Knob
        The model's knobs.
    train_settings, val_settings : sequences of {knob name: value}
        The data set's ``conditioning["train_settings"]`` and ``["val_settings"]``.

    Returns
    -------
    str
        ``"seen"`` (one of the training settings), ``"held out"`` (one of the validation
        settings, never trained on) or ``"unseen"``; ``"unknown"`` when no training settings are
        given.
    """
    if any(_same(setting, s, knobs) for s in train_settings):
        return "seen"
    if any(_same(setting, s, knobs) for s in val_settings):
        return "held out"
    return "unseen" if train_settings else "unknown"


_STATUS_WORDS = {
    "seen": "seen in training",
    "held out": "unseen: held out for validation",
    "unseen": "unseen in training",
    "unknown": "training settings not recorded",
}


def audition_settings(knobs: Sequence[Knob], *, n: int = 5) -> list[dict[str, float]]:
    """A few settings along each knob, the others at their defaults.

    Each knob takes ``2 n - 1`` values evenly spread on its own scale: ``n`` of them on the grid
    :func:`fxlab.conditioning.knob_grid` spreads ``n`` training values on (``Knob.grid(n)``), and
    one half-way between each pair, where a model trained on that grid has seen nothing.

    Returns
    -------
    settings : list of {knob name: value}
        Every knob of ``knobs`` in each; no setting twice.
    """
    base = {k.name: float(k.default) for k in knobs}
    out: list[dict[str, float]] = []
    for k in knobs:
        for v in k.grid(2 * int(n) - 1):
            s = {**base, k.name: float(v)}
            if not any(_same(s, o, knobs) for o in out):
                out.append(s)
    return out


# ---- rendering -----------------------------------------------------------------------------------


def _check_pair(model, effect) -> tuple[Knob, ...]:
    """The model's knobs, each one the effect has; a clear error otherwise."""
    knobs = tuple(getattr(model, "knobs", ()) or ())
    name = getattr(model, "name", repr(model))
    if not knobs:
        raise ParameterError(problem(
            f"model {name!r}", found="a model not conditioned on knobs (model.knobs is empty)",
            expected="a knob-conditioned model (trained with knobs, e.g. the pedal profile's lstm)",
            fix="pick a conditioned model of the run; an unconditioned one plays at one setting "
                "only (the listening test compares it)"))
    have = {k.name for k in effect.knobs}
    missing = [k.name for k in knobs if k.name not in have]
    if missing:
        raise ParameterError(problem(
            f"model {name!r} and effect {effect.describe()}",
            found=f"knob(s) {', '.join(missing)} of the model that the effect does not have "
                  f"(its knobs: {', '.join(sorted(have)) or 'none'})",
            expected="the effect the model was trained on",
            fix="pass the run's own effect (fxlab.datasets.load_dataset(run_dir / 'data').effect)"))
    return knobs


def render_setting(model, effect: Effect, x: np.ndarray, setting: Mapping[str, float], *,
                   sr: int) -> dict[str, Any]:
    """One clip through the effect and the model at one knob setting.

    Parameters
    ----------
    model : fxlab.training.TrainedModel
        Knob-conditioned (``model.knobs``).
    effect : fxlab.effects.Effect
        The effect it learnt; it must have every knob of the model.
    x : np.ndarray [shape=(n,), float32, values in [-1, 1]]
        The dry clip.
    setting : {knob name: value}
        In knob units; knobs left out stay at their defaults.
    sr : int > 0 [Hz]

    Returns
    -------
    out : dict
        ``effect``: ``effect.with_knobs(**setting)(x, sr)``; ``model``:
        ``model.predict(x, knobs=setting)`` (float32 ``[n]`` each); ``esr``: the model against
        the effect (:func:`fxlab.metrics.esr`; NaN when the effect's output is silent);
        ``esr_dry``: the dry input against the effect (what doing nothing scores).
    """
    knobs = _check_pair(model, effect)
    full = {k.name: float(k.default) for k in knobs} | {k: float(v) for k, v in setting.items()}
    x = np.asarray(x, np.float32).reshape(-1)
    wet = effect.with_knobs(**full)(x, sr)
    pred = np.asarray(model.predict(x, knobs=full), np.float32)
    try:
        esr, esr_dry = metrics.esr(wet, pred), metrics.esr(wet, x)
    except SilenceError:
        esr = esr_dry = math.nan
    return {"effect": wet, "model": pred, "esr": esr, "esr_dry": esr_dry, "setting": full}


def _grade(esr: float) -> str:
    from fxlab.capture.report import GRADE_SCALE

    if not math.isfinite(esr):
        return "undefined: the effect's output is silent"
    return next(w for bound, w in GRADE_SCALE if esr < bound).split(":")[0]


def _wav_bytes(y: np.ndarray, sr: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(np.asarray(y, np.float64), -1.0, 1.0), sr, format="WAV",
             subtype="PCM_16")
    return buf.getvalue()


# ---- the widget ----------------------------------------------------------------------------------


class KnobAudition:
    """Audition a knob-conditioned model against its effect at any setting (ipywidgets).

    One slider per knob of the model (CSS class ``fxlab-knob-<name>``; its range, unit and default
    from the :class:`~fxlab.effects.Knob`; a log-scale knob gets a logarithmic slider; 200 steps
    over the range), a clip chooser (``fxlab-audition-clip``), three players
    (``fxlab-audition-effect``, ``fxlab-audition-model``, ``fxlab-audition-dry``: HTML audio
    elements) and a readout (``fxlab-audition-esr``): the ESR of the model against the effect at
    the setting, in words on Neural Amp Modeler's scale, the dry input's ESR beside it, and
    whether the setting was seen in training. Sliders render when released
    (``continuous_update=False``). The players are loudness-matched as the listening test's clips
    (:func:`~fxlab.listening.loudness.match_gains`, 20 ms fades): a level difference is not what
    one listens for here; the ESR is of the outputs as rendered.

    Parameters
    ----------
    model : fxlab.training.TrainedModel
        Knob-conditioned (``model.knobs``; ``model.predict(x, knobs=...)``).
    effect : fxlab.effects.Effect
        The effect it learnt (``effect.with_knobs(**setting)(x, sr)``), with every knob of the
        model.
    clips : np.ndarray [shape=(n,)] or mapping of str -> np.ndarray
        The dry material: one clip, or several by name (:func:`audition_clips`).
    sr : int > 0 [Hz], optional
        The clips' sample rate; default the model's.
    train_settings, val_settings : sequences of {knob name: value}
        The data set's ``conditioning["train_settings"]`` / ``["val_settings"]``; the readout
        says whether the current setting is one of them.
    loudness_lufs : float
        The loudness the players are matched to, LUFS.

    Attributes
    ----------
    sliders : dict of str -> ipywidgets slider
    outputs : dict
        The current clip as rendered: ``"effect"``, ``"model"``, ``"dry"`` (float32 arrays).
    esr, esr_dry : float
        Model against effect, dry against effect, at :attr:`setting`.
    status : str
        :func:`setting_status` of :attr:`setting`.
    gains_db : dict
        The gain each player got.
    """

    def __init__(self, model, effect: Effect, clips, *, sr: int | None = None,
                 train_settings: Sequence[Mapping[str, float]] = (),
                 val_settings: Sequence[Mapping[str, float]] = (),
                 loudness_lufs: float = -23.0):
        import ipywidgets as w

        self.model = model
        self.effect = effect
        self.knobs = _check_pair(model, effect)
        self.sr = int(sr if sr is not None else getattr(model, "sr", STUDY_SR))
        if isinstance(clips, Mapping):
            self.clips = {str(k): np.asarray(v, np.float32).reshape(-1) for k, v in clips.items()}
        else:
            self.clips = {"clip": np.asarray(clips, np.float32).reshape(-1)}
        if not self.clips or any(c.size == 0 for c in self.clips.values()):
            raise ParameterError(problem(
                "clips", found="no clip, or an empty one", expected="one or more mono signals",
                fix="pass fxlab.listening.audition_clips(run_dir, sr=model.sr)"))
        self.train_settings = [dict(s) for s in train_settings]
        self.val_settings = [dict(s) for s in val_settings]
        self.loudness_lufs = float(loudness_lufs)
        self.outputs: dict[str, np.ndarray] = {}
        self.gains_db: dict[str, float] = {}
        self.esr = self.esr_dry = math.nan
        self.status = "unknown"
        self._quiet = False

        def cls(widget, name):
            widget.add_class(name)
            return widget

        self.sliders = {k.name: cls(self._slider(w, k), f"fxlab-knob-{k.name}")
                        for k in self.knobs}
        self.clip = cls(w.Dropdown(options=list(self.clips), value=next(iter(self.clips)),
                                   description="Clip:"), "fxlab-audition-clip")
        self.players = {
            v: cls(w.Audio(value=b"", format="wav", autoplay=False, controls=True, loop=False),
                   f"fxlab-audition-{v}") for v in _VERSIONS}
        self.readout = cls(w.HTML(""), "fxlab-audition-esr")
        name = getattr(model, "name", "model")
        self.title = w.HTML(
            f"<b>Audition {html.escape(str(name))} against {html.escape(effect.describe())}.</b> "
            "Move a knob and release it: the clip is rendered through the effect and the model "
            "at that setting. The players are loudness-matched; the error is of the outputs as "
            "rendered.")
        labels = {"effect": "the effect", "model": f"the model ({html.escape(str(name))})",
                  "dry": "the dry input"}
        players = w.HBox([w.VBox([w.HTML(f"<b>{labels[v]}</b>"), self.players[v]])
                          for v in _VERSIONS], layout=w.Layout(gap="24px"))
        self.widget = cls(w.VBox([self.title, *self.sliders.values(), self.clip, players,
                                  self.readout]), "fxlab-audition")
        for s in self.sliders.values():
            s.observe(lambda _c: self.render(), names="value")
        self.clip.observe(lambda _c: self.render(), names="value")
        self.render()

    @staticmethod
    def _slider(w, knob: Knob):
        unit = f" [{knob.unit}]" if knob.unit else ""
        common = {"description": f"{knob.name}{unit}", "continuous_update": False,
                  "style": {"description_width": "initial"}, "layout": w.Layout(width="480px")}
        if knob.scale == "log":
            lo, hi = math.log10(knob.low), math.log10(knob.high)
            return w.FloatLogSlider(value=knob.default, base=10, min=lo, max=hi,
                                    step=(hi - lo) / SLIDER_STEPS, readout_format=".4g", **common)
        step = (knob.high - knob.low) / SLIDER_STEPS
        digits = max(0, -math.floor(math.log10(step)))
        return w.FloatSlider(value=knob.default, min=knob.low, max=knob.high, step=step,
                             readout_format=f".{digits}f", **common)

    @property
    def setting(self) -> dict[str, float]:
        """The sliders' setting, ``{knob name: value}`` in knob units, clamped to the ranges."""
        return {k.name: min(max(float(self.sliders[k.name].value), k.low), k.high)
                for k in self.knobs}

    def set(self, **values: float) -> None:
        """Move knobs (knob units) and render once, as a listener releasing the sliders would."""
        for name, v in values.items():
            if name not in self.sliders:
                raise unknown_name(f"knob of model {getattr(self.model, 'name', '')!r}", name,
                                   list(self.sliders))
            self.knobs[list(self.sliders).index(name)].check(v, "audition")
        self._quiet = True
        try:
            for name, v in values.items():
                self.sliders[name].value = float(v)
        finally:
            self._quiet = False
        self.render()

    def render(self) -> None:
        """Render the current clip at the current setting; update the players and the readout."""
        if self._quiet:
            return
        x = self.clips[self.clip.value]
        setting = self.setting
        out = render_setting(self.model, self.effect, x, setting, sr=self.sr)
        self.outputs = {"effect": out["effect"], "model": out["model"], "dry": x}
        self.esr, self.esr_dry = out["esr"], out["esr_dry"]
        self.status = setting_status(setting, self.knobs, train_settings=self.train_settings,
                                     val_settings=self.val_settings)
        faded = {v: fade(y, self.sr) for v, y in self.outputs.items()}
        _, self.gains_db = match_gains(faded, sr=self.sr, target_lufs=self.loudness_lufs)
        for v, y in faded.items():
            self.players[v].value = _wav_bytes(y * 10 ** (self.gains_db[v] / 20), self.sr)
        self.readout.value = self._readout_html(setting)

    def _readout_html(self, setting: Mapping[str, float]) -> str:
        esr = "undefined" if not math.isfinite(self.esr) else f"{self.esr:.4g}"
        dry = "" if not math.isfinite(self.esr_dry) else f"{self.esr_dry:.4g}"
        colour = {"seen": "#2a7", "held out": "#c70", "unseen": "#c70"}.get(self.status, "#777")
        return (
            f"<b>ESR, model against effect: {esr}</b> ({html.escape(_grade(self.esr))}) at "
            f"{html.escape(_describe(setting, self.knobs))}; the dry input scores {dry}. "
            f"<span class='fxlab-audition-seen' style='color:{colour}'>"
            f"<b>{html.escape(_STATUS_WORDS[self.status])}</b></span>")

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in the browser test
        from IPython.display import display

        display(self.widget)


# ---- without a listener: a table -----------------------------------------------------------------


def audition_summary(model, effect: Effect, clips: Mapping[str, np.ndarray], *, sr: int,
                     settings: Sequence[Mapping[str, float]] | None = None,
                     train_settings: Sequence[Mapping[str, float]] = (),
                     val_settings: Sequence[Mapping[str, float]] = ()) -> list[dict]:
    """The ESR of the model against the effect on each clip at each of a few settings.

    Parameters
    ----------
    model, effect, sr : see :class:`KnobAudition`
    clips : mapping of str -> np.ndarray [shape=(n,)]
    settings : sequence of {knob name: value}, optional
        Default :func:`audition_settings` of the model's knobs.
    train_settings, val_settings : see :func:`setting_status`

    Returns
    -------
    records : list of dict
        Per setting: ``setting``, ``status``, ``esr`` ({clip: ESR}), ``esr_mean`` (over the clips
        with a defined ESR), ``esr_dry`` ({clip: dry input's ESR}).
    """
    knobs = _check_pair(model, effect)
    settings = audition_settings(knobs) if settings is None else [dict(s) for s in settings]
    records = []
    for s in settings:
        per = {c: render_setting(model, effect, x, s, sr=sr) for c, x in clips.items()}
        esr = {c: r["esr"] for c, r in per.items()}
        finite = [v for v in esr.values() if math.isfinite(v)]
        full = next(iter(per.values()))["setting"]
        records.append({
            "setting": full,
            "status": setting_status(full, knobs, train_settings=train_settings,
                                     val_settings=val_settings),
            "esr": esr, "esr_mean": float(np.mean(finite)) if finite else math.nan,
            "esr_dry": {c: r["esr_dry"] for c, r in per.items()},
        })
    return records


def summary_html(records: Sequence[Mapping], *, model_name: str = "", knobs=None) -> Html:
    """:func:`audition_summary`'s records as an HTML table: one row per setting, one column per clip."""
    if not records:
        return Html("<p>No setting auditioned.</p>")
    clips = list(records[0]["esr"])
    names = list(records[0]["setting"])
    rows = [(*(r["setting"][n] for n in names), _STATUS_WORDS[r["status"]],
             *(r["esr"][c] for c in clips), r["esr_mean"]) for r in records]
    who = f" of {model_name}" if model_name else ""
    return html_table(
        [*names, "setting", *(f"ESR {c}" for c in clips), "mean ESR"], rows, digits=4,
        caption=f"ESR{who} against the effect at settings along each knob (the others at their "
                "defaults), on each clip: the training grid's values and half-way between them")


# ---- a run folder --------------------------------------------------------------------------------


def conditioned_models(run_dir: str | os.PathLike) -> dict:
    """The knob-conditioned models of ``run_dir/models``, loaded, by name (sorted).

    Only folders whose ``config.json`` lists ``knobs`` are loaded; a run without any gives ``{}``.

    Returns
    -------
    models : dict of str -> fxlab.training.TrainedModel
    """
    from fxlab.training import load_trained

    root = Path(run_dir) / "models"
    if not root.is_dir():
        return {}
    out = {}
    for d in sorted(root.iterdir()):
        cfg = d / "config.json"
        if not (d / "model.keras").is_file() or not cfg.is_file():
            continue
        try:
            knobs = json.loads(cfg.read_text()).get("knobs")
        except (OSError, ValueError):
            continue
        if knobs:
            out[d.name] = load_trained(d)
    return out


def run_conditioning(run_dir: str | os.PathLike) -> tuple[Effect, dict]:
    """A run's effect at its base settings and its data set's conditioning record.

    Returns
    -------
    (effect, conditioning) : (Effect, dict)
        ``conditioning`` holds ``knobs``, ``train_settings`` and ``val_settings`` (empty lists
        when the data set records none).
    """
    from fxlab.datasets import load_dataset

    data = Path(run_dir) / "data"
    if not (data / "manifest.json").is_file():
        raise AudioFileError(problem(
            data, found="no data set (manifest.json)", expected="the run's data set",
            fix="run 01_synthesize_data for this run folder first"))
    ds = load_dataset(data)
    cond = getattr(ds, "conditioning", None) or ds.manifest.get("conditioning") or {}
    return ds.effect, {"knobs": list(cond.get("knobs") or []),
                       "train_settings": list(cond.get("train_settings") or []),
                       "val_settings": list(cond.get("val_settings") or [])}


def knob_audition(config: ListeningConfig):
    """The audition of the run's knob-conditioned model: the widget, a table, or a note.

    Parameters
    ----------
    config : ListeningConfig
        Uses ``run_folder`` (its ``models/`` and ``data/``), ``audition_model`` (``""``: the first
        conditioned model, by name), ``interactive``, ``clip_seconds`` and ``loudness_lufs``.

    Returns
    -------
    KnobAudition, IPython.display.HTML or IPython.display.Markdown
        The widget when someone is at the keyboard (``interactive``); under papermill the
        :func:`summary_html` table of the ESR at a few settings per clip; when no model of the run
        is conditioned on knobs, a note saying so. The table's settings are those notebook 03
        scores (:func:`fxlab.evaluate.evaluation_settings`: the training grid, the held-out
        settings and, for one knob, the midpoints between training values) when the data set
        records them, else :func:`audition_settings`.
    """
    from IPython.display import HTML, Markdown

    run = config.run_folder
    found = conditioned_models(run)
    if not found:
        return Markdown("*No model of this run is conditioned on knobs, so there is no knob to "
                        "audition* (a conditioned run: `fxlab run --profile pedal`).")
    name = config.audition_model or next(iter(found))
    if name not in found:
        raise unknown_name("knob-conditioned model", name, list(found))
    model = found[name]
    effect, cond = run_conditioning(run)
    clips = audition_clips(run, sr=model.sr, seconds=config.clip_seconds)
    settings = {"train_settings": cond["train_settings"], "val_settings": cond["val_settings"]}
    if config.interactive:
        return KnobAudition(model, effect, clips, sr=model.sr,
                            loudness_lufs=config.loudness_lufs, **settings)
    chosen = None
    if cond["knobs"] and cond["train_settings"]:  # the settings notebook 03 scores
        from fxlab.evaluate import evaluation_settings

        chosen = [e["setting"] for e in evaluation_settings(cond)]
    records = audition_summary(model, effect, clips, sr=model.sr, settings=chosen, **settings)
    return HTML(
        f"<p><i>The knob audition widget is shown when this notebook is opened in JupyterLab</i> "
        f"(<code>interactive = True</code>). Here, model <code>{html.escape(name)}</code> against "
        f"{html.escape(effect.describe())} at a few settings:</p>"
        + summary_html(records, model_name=name))
