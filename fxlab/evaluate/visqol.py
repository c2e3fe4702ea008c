"""A perceptual score in every evaluation: ViSQOL per model and clip, its controls, its agreement
with the ESR (:func:`score_visqol`, :func:`visqol_html`).

ViSQOL v3 in audio mode (:func:`fxlab.perceptual.visqol`) scores each model's output against the
effect's on every clip the model was rendered on in full: Validation 1 and 2 and each real
instrument recording. Two controls frame the scale on the same stretches: the target against
itself (the ceiling, about 4.73 in audio mode) and the dry input against the target (what playing
no model at all scores). A model scores somewhere between, and its distance from the ceiling is
what it costs the ear.

Choices
-------
- Every clip is scored on its loudest ``seconds`` (the same stretch for every model and both
  controls; whole clips when 0 or when a clip is shorter): ViSQOL costs about 0.2 s of CPU per
  second of audio, so whole clips would cost the quick profile a minute. Scores on short stretches
  compare with each other, not with published ViSQOL scores of whole recordings.
- A model rendered only on an excerpt that does not hold a clip's stretch (the windowed networks
  on their 0.05 s excerpts; ViSQOL needs 0.96 s) is not scored there; the result says why.
- Agreement with the ESR: per model, the mean MOS-LQO over the clips every scored model has, and
  the ESR over the same stretches joined (error energy / target energy); Spearman's rank
  correlation between the MOS-LQO and the negated ESR (1: the same order), and the models whose
  two ranks differ by more than one place.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from fxlab import perceptual, progress
from fxlab.audio import loudest_start
from fxlab.errors import SilenceError
from fxlab.util import Html, fmt, html_table

__all__ = ["agreement_with_esr", "score_visqol", "visqol_html"]

#: The two controls, in table order, with their labels.
CONTROLS = {"target": "target against itself (the ceiling)",
            "dry": "dry input against the target (no model)"}


def score_visqol(clips: Mapping[str, tuple[np.ndarray, np.ndarray]],
                 outputs: Mapping[str, Mapping[str, tuple[int, np.ndarray]]], *, sr: int,
                 seconds: float = 2.0, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """ViSQOL of every model on every clip, the two controls, and the agreement with the ESR.

    Parameters
    ----------
    clips : {clip: (target, dry)}
        Whole clips: the effect's output and its input, same length, ``sr`` Hz.
    outputs : {model: {clip: (start, y)}}
        Each model's output ``y`` for ``target[start:start + len(y)]`` (start in samples; 0 and
        the whole clip for a model rendered in full). Clips a model lacks are not scored for it.
    sr : int
        Sample rate, Hz.
    seconds : float, 0 or >= 0.96
        The loudest this many seconds of each clip's target are scored; 0: whole clips.
    labels : {clip: str}, optional
        Short names for the table (``"V1"``); the clip's own name otherwise.

    Returns
    -------
    dict
        ``definition``; ``clips`` (``{clip: {"label", "start_s", "seconds"}}``, the stretches
        scored); ``controls`` (``{"target": {clip: MOS-LQO}, "dry": {...}}``); ``models``
        (``{model: {clip: MOS-LQO or None}}``; None: its output was silent); ``esr`` (the
        same, ESR on the same stretch); ``skipped`` (``{model: {clip: why}}``) and
        ``skipped_clips`` (``{clip: why}``); ``agreement`` (:func:`agreement_with_esr`);
        ``wall_s`` (seconds spent, the one-off import included); ``calls`` (pairs scored).
    """
    t0 = time.perf_counter()
    labels = dict(labels or {})
    n_want = int(round(seconds * sr))
    out: dict[str, Any] = {
        "definition": (f"ViSQOL v3, audio mode (visqol-python; MOS-LQO from 1 to 5, identical "
                       f"signals about 4.73), both signals resampled from {sr} Hz to 48 kHz; each "
                       + (f"clip's loudest {seconds:g} s (whole clips where shorter), the same "
                          "stretch for every model and control" if n_want else "whole clip")),
        "seconds": seconds, "clips": {}, "controls": {k: {} for k in CONTROLS}, "models": {},
        "esr": {}, "skipped": {}, "skipped_clips": {}, "calls": 0}
    for clip, (target, dry) in clips.items():
        target = np.asarray(target, np.float32)
        n = target.size if n_want <= 0 or n_want >= target.size else n_want
        if n / sr < perceptual.MIN_SECONDS:
            out["skipped_clips"][clip] = (f"{n / sr:.2f} s long, shorter than ViSQOL's minimum "
                                          f"{perceptual.MIN_SECONDS:g} s")
            continue
        a = loudest_start(target, n, hop=sr // 100)
        t = target[a:a + n]
        out["clips"][clip] = {"label": labels.get(clip, clip), "start_s": a / sr, "seconds": n / sr}
        progress.note(f"ViSQOL: {labels.get(clip, clip)}")
        out["controls"]["target"][clip] = perceptual.visqol(t, t, sr=sr)
        out["controls"]["dry"][clip] = perceptual.visqol(t, np.asarray(dry, np.float32)[a:a + n],
                                                         sr=sr)
        out["calls"] += 2
        for name, per_clip in outputs.items():
            if clip not in per_clip:
                continue
            start, y = per_clip[clip]
            if not (start <= a and start + len(y) >= a + n):
                out["skipped"].setdefault(name, {})[clip] = (
                    f"rendered on {len(y) / sr:.2g} s from {start / sr:.2f} s only, not the "
                    f"{n / sr:.2g} s scored (ViSQOL needs at least {perceptual.MIN_SECONDS:g} s)")
                continue
            yy = np.asarray(y, np.float32)[a - start:a - start + n]
            try:
                score = perceptual.visqol(t, yy, sr=sr)
            except SilenceError:  # a model that outputs silence has failed; ESR says how badly
                score = None
            out["calls"] += 1
            out["models"].setdefault(name, {})[clip] = score
            out["esr"].setdefault(name, {})[clip] = (
                float(np.sum((t.astype(np.float64) - yy) ** 2)), float(np.sum(t.astype(np.float64) ** 2)))
    # the ESR per clip, and the pooled one the agreement uses
    energies = out.pop("esr")
    out["esr"] = {m: {c: e / s for c, (e, s) in v.items()} for m, v in energies.items()}
    out["agreement"] = agreement_with_esr(out["models"], energies)
    out["wall_s"] = time.perf_counter() - t0
    return out


def agreement_with_esr(scores: Mapping[str, Mapping[str, float | None]],
                       energies: Mapping[str, Mapping[str, tuple[float, float]]]) -> dict[str, Any]:
    """Does ViSQOL order the models as the ESR does?

    Parameters
    ----------
    scores : {model: {clip: MOS-LQO or None}}
    energies : {model: {clip: (error energy, target energy)}}
        On the same stretches.

    Returns
    -------
    dict
        ``clips`` (those every model was scored on), ``models`` (``{model: {"visqol": mean
        MOS-LQO, "esr": pooled ESR, "rank_visqol", "rank_esr"}}``, rank 1 best, ties averaged),
        ``spearman`` (rank correlation of MOS-LQO with -ESR; None under 3 models or where either
        is constant), ``disagree`` (models whose ranks differ by more than one place) and
        ``sentence``.
    """
    from scipy import stats

    names = [m for m in scores if scores[m] and all(v is not None for v in scores[m].values())]
    shared = [c for c in (next(iter(scores.values()), {}) if names else {})
              if all(c in scores[m] for m in names)]
    out: dict[str, Any] = {"clips": shared, "models": {}, "spearman": None, "disagree": [],
                           "sentence": ""}
    if len(names) < 3 or not shared:
        out["sentence"] = (f"Agreement with the ESR not computed: {len(names)} model(s) scored on "
                           f"{len(shared)} common clip(s); a rank correlation needs three models.")
        return out
    mos = np.array([np.mean([scores[m][c] for c in shared]) for m in names])
    esr = np.array([sum(energies[m][c][0] for c in shared) / sum(energies[m][c][1] for c in shared)
                    for m in names])
    r_mos, r_esr = stats.rankdata(-mos), stats.rankdata(esr)
    for m, v, e, rv, re in zip(names, mos, esr, r_mos, r_esr, strict=True):
        out["models"][m] = {"visqol": float(v), "esr": float(e), "rank_visqol": float(rv),
                            "rank_esr": float(re)}
    rho = None
    if np.ptp(mos) > 0 and np.ptp(esr) > 0:
        rho = float(stats.spearmanr(mos, -esr).statistic)
    out["spearman"] = rho
    out["disagree"] = [m for m, rv, re in zip(names, r_mos, r_esr, strict=True) if abs(rv - re) > 1]
    over = (f"over the {len(names)} models (mean MOS-LQO over the {len(shared)} clips every model "
            "was scored on; ESR over the same stretches joined)")
    head = (f"ViSQOL against the ESR (negated) {over}: Spearman ρ = {fmt(rho, 2)}."
            if rho is not None else f"ViSQOL against the ESR {over}: one of them does not vary, "
            "so no rank correlation.")
    if out["disagree"]:
        parts = [f"{m} ({_place(out['models'][m]['rank_visqol'])} by ViSQOL, "
                 f"{_place(out['models'][m]['rank_esr'])} by ESR)" for m in out["disagree"]]
        out["sentence"] = head + " They disagree by more than one place on " + "; ".join(parts) + "."
    else:
        out["sentence"] = head + " No model's place differs by more than one between the two."
    return out


def _place(rank: float) -> str:
    """``1`` -> ``"1st"``, ``2.5`` -> ``"2.5th"`` (a tie)."""
    if rank != int(rank):
        return f"{rank:g}th (tied)"
    r = int(rank)
    suffix = "th" if 10 <= r % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(r % 10, "th")
    return f"{r}{suffix}"


def visqol_html(result: Mapping[str, Any]) -> Html | str:
    """The ViSQOL table of ``metrics.json``: the two controls, then each model, one column per clip.

    Also the mean over the clips each row has, and below the table the sentence on the agreement
    with the ESR. Empty when the run did not score ViSQOL; a sentence when it was skipped.
    """
    v = result.get("visqol")
    if not v:
        return ""
    if v.get("skipped_why"):
        return Html(f"<p><b>ViSQOL</b> not scored: {html.escape(v['skipped_why'])}.</p>")
    clips = list(v.get("clips", {}))
    if not clips:
        return ""
    head = ["", *[f"{v['clips'][c]['label']} ({v['clips'][c]['seconds']:.2g} s)" for c in clips],
            "mean"]
    controls = result.get("visqol_controls", {})

    def row(label, scores):
        vals = [scores.get(c) for c in clips]
        have = [x for x in vals if x is not None]
        return [label, *vals, float(np.mean(have)) if have else None]

    rows = [row(Html(f"<i>{html.escape(text)}</i>"), controls.get(k, {}))
            for k, text in CONTROLS.items()]
    for name, e in result.get("models", {}).items():
        if e.get("visqol"):
            rows.append(row(Html(f"<b>{html.escape(name)}</b>"), e["visqol"]))
    caption = (f"Perceptual score (MOS-LQO): {v['definition']}. The two controls in italics frame "
               "the scale: a model near the first row sounds like the effect, one near the second "
               f"sounds like no model. {v.get('calls', 0)} pairs scored in "
               f"{fmt(v.get('wall_s'), 2)} s.")
    skipped = v.get("skipped") or {}
    if skipped:
        caption += " Not scored: " + "; ".join(
            f"{m} on {', '.join(v['clips'].get(c, {}).get('label', c) for c in why)} "
            f"({next(iter(why.values()))})" for m, why in skipped.items()) + "."
    if v.get("skipped_clips"):
        caption += " Clips left out: " + "; ".join(f"{c}: {w}" for c, w in v["skipped_clips"].items()) + "."
    table = html_table(head, rows, caption=caption, css_class="fxlab-table fxlab-results",
                       digits=3)
    sentence = (v.get("agreement") or {}).get("sentence", "")
    return Html(f"{table}\n<p>{html.escape(sentence)}</p>" if sentence else table)
