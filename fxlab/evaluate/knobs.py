"""Knob-conditioned models judged across their knob's range, on real material.

A conditioned network is trained at a few settings of an effect's knobs (a grid, e.g. gain 0, 10,
20, 30, 40 dB) and must also be right *between* them. This module scores every conditioned model
at every setting it was trained on and at settings it never saw, on real recordings -- the
shipped instrument recordings (guitar, piano, tabla, a drum roll; never trained on) and the
study's speech -- each put through the effect at that setting from silence, and through the
model with the knob held at the same value.

- :func:`evaluation_settings`  the settings to score: the training grid, the held-out ones and,
                               for one knob, the midpoints between neighbouring training values
- :func:`score_over_knobs`     ESR (and MSE, LSD) per setting and model, seen or unseen
- :func:`knob_table_html`      the scores as an HTML table, unseen settings marked
- :func:`knob_harmonics`       harmonics of sines at several levels, effect against each model, at
                               a seen and the unseen settings of a run (:mod:`fxlab.harmonics`)

The material is the same for every setting and model: each recording scaled to ``peak_dbfs``
(default -12 dBFS), the speech resampled to the data set's rate. ESR is taken over all the
material joined (what ``esr`` reports) and per recording (``per_recording``). The figure of the
scores is :func:`fxlab.plots.evaluation.plot_error_vs_knob`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fxlab import metrics, perceptual, progress
from fxlab.audio import loudest_start
from fxlab.errors import ParameterError, SilenceError, problem
from fxlab.evaluate.trained import find_models
from fxlab.util import html_table

__all__ = ["conditioned_run", "evaluation_settings", "knob_harmonics", "knob_table_html", "score_over_knobs", "setting_key"]


def setting_key(setting: Mapping[str, float]) -> tuple:
    """A setting as a hashable key (its values, rounded to 1e-9)."""
    return tuple(round(float(v), 9) for v in setting.values())


def evaluation_settings(conditioning: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The settings to score a conditioned model at, sorted, each marked seen or not.

    Parameters
    ----------
    conditioning : dict
        A conditioned data set's record (:attr:`fxlab.datasets.Dataset.conditioning`):
        ``knobs``, ``train_settings``, ``val_settings``.

    Returns
    -------
    list of dict
        ``{"setting": {knob: value}, "seen": bool, "role": "trained on" | "held out (validation)"
        | "between grid values"}``. With one knob, the midpoints (on the knob's scale) between
        neighbouring training values are added as unseen settings the validation did not choose
        the model on either.
    """
    from fxlab.effects import Knob

    train = [dict(s) for s in conditioning["train_settings"]]
    val = [dict(s) for s in conditioning["val_settings"]]
    out = {setting_key(s): {"setting": s, "seen": True, "role": "trained on"} for s in train}
    for s in val:
        out.setdefault(setting_key(s), {"setting": s, "seen": False, "role": "held out (validation)"})
    knobs = [Knob.from_dict(k) for k in conditioning["knobs"]]
    if len(knobs) == 1:
        k = knobs[0]
        values = sorted(float(s[k.name]) for s in train)
        for a, b in zip(values, values[1:], strict=False):
            mid = float(k.denormalise(0.5 * (k.normalise(a) + k.normalise(b))))
            s = {k.name: round(mid, 6)}
            out.setdefault(setting_key(s), {"setting": s, "seen": False, "role": "between grid values"})
    return sorted(out.values(), key=lambda e: setting_key(e["setting"]))


def _material(sr: int, peak_dbfs: float, names: Sequence[str] | None):
    from fxlab import recordings

    names = list(names) if names is not None else recordings.list_recordings()
    return {n: recordings.load_recording(n, sr=sr, peak_dbfs=peak_dbfs) for n in names}


def score_over_knobs(trained_list, effect, conditioning: Mapping[str, Any], *, sr: int,
                     peak_dbfs: float = -12.0, recordings: Sequence[str] | None = None,
                     settings: Sequence[Mapping[str, Any]] | None = None,
                     visqol_seconds: float | None = None) -> dict[str, Any]:
    """Every conditioned model at every evaluation setting, on real recordings and speech.

    Parameters
    ----------
    trained_list : list of TrainedModel
        Models without knobs are listed under ``skipped``.
    effect : Effect
        The effect at its base setting (``Dataset.effect``); rendered with ``with_knobs``.
    conditioning : dict
        :attr:`fxlab.datasets.Dataset.conditioning`.
    sr : int [Hz]
    peak_dbfs : float <= 0 [dBFS]
        Peak of each recording before the effect.
    recordings : sequence of str, optional
        Names from :func:`fxlab.recordings.list_recordings` (default: all, speech included).
    settings : list of dict, optional
        :func:`evaluation_settings` entries (default: those of ``conditioning``).
    visqol_seconds : float, 0 or >= 0.96, optional
        Also score ViSQOL (:func:`fxlab.perceptual.visqol`) at every setting, on the loudest this
        many seconds of the recordings joined (the same stretch for every model and the dry
        control; one stretch per setting keeps it to a call per model and setting; 0: all of
        them). None: not.

    Returns
    -------
    dict
        ``definition``; ``knobs`` (Knob dicts); ``settings`` (the entries scored); ``recordings``
        (``{name: seconds}``); ``models``: ``{name: [{"setting", "seen", "role", "esr", "mse",
        "lsd_db", "per_recording": {rec: esr}}, ...]}`` in the order of ``settings``;
        ``skipped``: ``{name: why}``; ``summary``: ``{name: {"esr_seen_max", "esr_unseen_max",
        "esr_unseen_mean"}}``. With ``visqol_seconds``: each row's ``visqol`` (MOS-LQO),
        ``visqol_dry`` (the dry input's MOS-LQO per setting, in ``settings``' order), the summary's
        ``visqol_seen_min`` and ``visqol_unseen_min``, and ``visqol_definition``.
    """
    if peak_dbfs is None or not np.isfinite(peak_dbfs) or peak_dbfs > 0:
        raise ParameterError(problem(
            f"peak_dbfs={peak_dbfs!r}", found=repr(peak_dbfs), expected="a level <= 0 dBFS",
            fix="use e.g. -12.0"))
    entries = list(settings) if settings is not None else evaluation_settings(conditioning)
    material = _material(sr, peak_dbfs, recordings)
    names = list(material)
    targets = {}
    for e in entries:
        fx = effect.with_knobs(**e["setting"])
        targets[setting_key(e["setting"])] = {n: np.asarray(fx(x, sr), np.float32) for n, x in material.items()}
    stretch = _visqol_stretches(targets, names, sr, visqol_seconds)
    out: dict[str, Any] = {
        "definition": (f"{len(names)} real recordings ({', '.join(names)}), each at a peak of "
                       f"{peak_dbfs:g} dBFS, through the effect and the model at each setting, "
                       f"from silence; ESR over them joined"),
        "knobs": list(conditioning["knobs"]), "settings": entries,
        "recordings": {n: round(x.size / sr, 2) for n, x in material.items()},
        "models": {}, "skipped": {}, "summary": {}}
    if stretch:
        joined_dry = np.concatenate([material[n] for n in names])
        out["visqol_definition"] = (f"ViSQOL v3 audio mode on the loudest {visqol_seconds:g} s of "
                                    "the recordings joined, at each setting")
        out["visqol_dry"] = [perceptual.visqol(t, joined_dry[a:a + len(t)], sr=sr)
                             for a, t in (stretch[setting_key(e["setting"])] for e in entries)]
    for trained in trained_list:
        knobs = tuple(getattr(trained, "knobs", ()) or ())
        if not knobs:
            out["skipped"][trained.name] = "reads no knob values"
            continue
        rows = []
        for e in entries:
            progress.note(f"{trained.name}: real recordings at "
                          + ", ".join(f"{k}={v:g}" for k, v in e["setting"].items()))
            tg = targets[setting_key(e["setting"])]
            ys = {n: np.asarray(trained.predict(x, knobs=e["setting"]), np.float32) for n, x in material.items()}
            t = np.concatenate([tg[n] for n in names])
            y = np.concatenate([ys[n] for n in names])
            rows.append({"setting": e["setting"], "seen": e["seen"], "role": e["role"],
                         "esr": metrics.esr(t, y), "mse": metrics.mse(t, y),
                         "lsd_db": metrics.log_spectral_distance(t, y, sr=sr),
                         "per_recording": {n: metrics.esr(tg[n], ys[n]) for n in names}})
            if stretch:
                a, ts = stretch[setting_key(e["setting"])]
                rows[-1]["visqol"] = _visqol_or_none(ts, y[a:a + len(ts)], sr)
        out["models"][trained.name] = rows
        seen = [r["esr"] for r in rows if r["seen"]]
        unseen = [r["esr"] for r in rows if not r["seen"]]
        out["summary"][trained.name] = {
            "esr_seen_max": max(seen) if seen else None,
            "esr_unseen_max": max(unseen) if unseen else None,
            "esr_unseen_mean": float(np.mean(unseen)) if unseen else None}
        if stretch:
            for what, pick in (("visqol_seen_min", True), ("visqol_unseen_min", False)):
                v = [r["visqol"] for r in rows if r["seen"] == pick and r["visqol"] is not None]
                out["summary"][trained.name][what] = min(v) if v else None
    return out


def _visqol_stretches(targets, names, sr: int, seconds: float | None):
    """``{setting key: (start, target stretch)}``: the loudest ``seconds`` of each setting's
    recordings joined, or ``{}`` when ViSQOL is not asked for or not installed."""
    if seconds is None or perceptual.unavailable() is not None:
        return {}
    out = {}
    for key, tg in targets.items():
        t = np.concatenate([tg[n] for n in names])
        n = t.size if seconds <= 0 else min(int(round(seconds * sr)), t.size)  # 0: all of it
        a = loudest_start(t, n, hop=sr // 100)
        out[key] = (a, t[a:a + n])
    return out


def _visqol_or_none(t: np.ndarray, y: np.ndarray, sr: int) -> float | None:
    """ViSQOL of ``y`` against ``t``; None for a silent output (a failed model: the ESR says how)."""
    try:
        return perceptual.visqol(t, y, sr=sr)
    except SilenceError:
        return None


def _fmt(v) -> str:
    return "—" if v is None else f"{v:.3g}"


def knob_table_html(scores: Mapping[str, Any]) -> str:
    """The result of :func:`score_over_knobs` as an HTML table: a row per setting, a column per
    model (ESR over the recordings joined), unseen settings marked, then the worst seen/unseen."""
    models = list(scores["models"])
    if not models:
        return "<p>No knob-conditioned model to score across its knob.</p>"
    vq = "visqol_dry" in scores
    rows = []
    for i, e in enumerate(scores["settings"]):
        label = ", ".join(f"{k} = {v:g}" for k, v in e["setting"].items())
        cells = [_fmt(scores["models"][m][i]["esr"]) for m in models]
        if vq:
            cells += [_fmt(scores["models"][m][i].get("visqol")) for m in models]
            cells.append(_fmt(scores["visqol_dry"][i]))
        rows.append((label, "seen" if e["seen"] else f"unseen ({e['role']})", *cells))
    worst = [("esr_seen_max", "visqol_seen_min", "worst seen"),
             ("esr_unseen_max", "visqol_unseen_min", "worst unseen")]
    for esr_key, vq_key, label in worst:
        cells = [_fmt(scores["summary"][m][esr_key]) for m in models]
        if vq:
            cells += [_fmt(scores["summary"][m].get(vq_key)) for m in models] + [""]
        rows.append((label, "", *cells))
    columns = [f"{m}: ESR" for m in models]
    if vq:
        columns += [f"{m}: ViSQOL" for m in models] + ["dry: ViSQOL"]
    table = html_table(["setting", "trained on it?", *columns], rows)
    skipped = "".join(f"<li>{n}: {why}</li>" for n, why in scores.get("skipped", {}).items())
    if vq:
        table += f"<p>{scores['visqol_definition']} (MOS-LQO; identical signals about 4.73).</p>"
    return (table + f"<p>{scores['definition']}.</p>"
            + (f"<p>Not scored across the knob:</p><ul>{skipped}</ul>" if skipped else ""))


def conditioned_run(run_dir, settings: Sequence[Mapping[str, float]] | None = None):
    """``(data, models, settings, seen_keys)`` of a knob-conditioned run, or None when the run is
    not conditioned or has no model that reads knobs: its data set, those models, the settings
    (default: the middle training setting, seen, and every held-out one, unseen) and the
    :func:`setting_key` of every training setting."""
    from pathlib import Path

    from fxlab.datasets import load_dataset

    data = load_dataset(Path(run_dir) / "data")
    cond = data.conditioning
    models = [m for m in find_models(run_dir) if getattr(m, "knobs", ())]
    if not cond or not models:
        return None
    if settings is None:
        train = sorted(cond["train_settings"], key=setting_key)
        settings = [train[len(train) // 2], *cond["val_settings"]]
    return data, models, list(settings), {setting_key(s) for s in cond["train_settings"]}


def knob_harmonics(run_dir, *, f0_hz: float = 1000.0, levels_dbfs: Sequence[float] | None = None,
                   settings: Sequence[Mapping[str, float]] | None = None) -> list[dict[str, Any]]:
    """Harmonics of the effect and of each conditioned model of a run, setting by setting.

    Sines of ``f0_hz`` at each of ``levels_dbfs`` (default :data:`fxlab.harmonics.DEFAULT_LEVELS_DBFS`)
    through the run's effect and through each knob-conditioned model with its knobs at the same
    setting (:func:`fxlab.harmonics.measure_harmonics`). ``settings`` default: the middle training
    setting (seen) and every held-out one (unseen).

    Returns
    -------
    list of dict
        ``{"setting": {knob: value}, "seen": bool, "target": Harmonics, "models": {name:
        Harmonics}}``; empty when the run is not conditioned or has no conditioned model.
        Show one with :func:`fxlab.harmonics.harmonics_table` and
        :func:`fxlab.plots.evaluation.plot_harmonics`.
    """
    from fxlab.harmonics import DEFAULT_LEVELS_DBFS, measure_harmonics

    run = conditioned_run(run_dir, settings)
    if run is None:
        return []
    data, models, settings, seen_keys = run
    levels = tuple(levels_dbfs) if levels_dbfs is not None else DEFAULT_LEVELS_DBFS
    out = []
    for setting in settings:
        fx = data.effect.with_knobs(**setting)
        progress.note("harmonics at " + ", ".join(f"{k}={v:g}" for k, v in setting.items()))
        target = measure_harmonics(lambda x, fx=fx: fx(x, data.sr), sr=data.sr, f0_hz=f0_hz,
                                   levels_dbfs=levels)
        got = {m.name: measure_harmonics(lambda x, m=m, s=dict(setting): m.predict(x, knobs=s), sr=data.sr,
                                         f0_hz=f0_hz, levels_dbfs=levels) for m in models}
        out.append({"setting": dict(setting), "seen": setting_key(setting) in seen_keys, "target": target,
                    "models": got})
    return out
