"""What a user's dry/wet pair holds, and how good a capture of it is.

- :func:`pair_report`     the data report of a checked pair: levels, the level range a model will
  know, ESR against a straight wire, relatedness, two takes' ESR and the floor they set
- :func:`format_report`   the report as lines of text
- :func:`grade`           a held-out ESR in plain words on :data:`GRADE_SCALE`, with advice
- :data:`GRADE_SCALE`     the scale (Neural Amp Modeler's)
- :func:`silence_check`   does the model fall silent when the input stops?
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fxlab.audio import level_profile
from fxlab.errors import LengthMismatchError, problem
from fxlab.metrics import esr

__all__ = ["GRADE_SCALE", "SELF_ESR_LIMIT", "SILENCE_SECONDS", "STUCK_DB", "format_report", "grade",
           "pair_report", "silence_check"]

GRADE_SCALE: tuple[tuple[float, str], ...] = (
    (0.01, "great"),
    (0.035, "not bad"),
    (0.1, "may sound OK"),
    (math.inf, "poor: it will likely sound different from the effect"),
)
"""Held-out ESR below each bound -> words (the scale Neural Amp Modeler's trainer reports)."""

SELF_ESR_LIMIT = 0.01
"""Two takes of the same dry signal through the gear that differ by more than this ESR are
flagged: the gear does not sound like itself (Neural Amp Modeler checks its two validation takes
against the same bound)."""

def pair_report(pair, *, wet2=None, train_fraction: float = 1.0) -> dict[str, Any]:
    """The data report of a checked pair (:class:`fxlab.capture.pairs.AudioPair`).

    Parameters
    ----------
    pair : AudioPair
        The aligned pair (``load_pair``).
    wet2 : AudioPair or None
        A second take of the same dry signal through the effect, loaded and aligned on its own
        (``load_pair(dry, wet2)``); their ESR against each other is the noise of the capture.
    train_fraction : float in (0, 1]
        The part at the start a model trains on (the rest is held out); the level range the
        model will know is that part's.

    Returns
    -------
    dict
        ``dry``, ``wet``: :func:`level_profile` of each; ``train_dry_peak_dbfs`` and
        ``heldout_dry_peak_dbfs``; ``esr_vs_wire``: ESR of the wet against the dry itself (1 is
        as far from bypass as silence; near 0 an effect that barely changes the signal);
        ``relatedness``: fraction of the wet energy a causal linear response to the dry explains
        (:class:`fxlab.capture.alignment.LatencyEstimate`; ``None`` when alignment was off or the latency
        given); ``latency_samples``; with ``wet2``: ``two_takes_esr`` (take 2 against take 1)
        and ``floor_esr`` = half of it: a model that output the effect's exact noiseless output
        would score about that against one noisy take. When the dry file is fxlab's reamp
        signal (``pair.reamp``), the training part is its body, the held-out part its first
        validation take, and ``two_takes_esr`` compares its two validation takes (no ``wet2``
        needed); ``reamp`` holds its layout. ``train_dry_levels``: :func:`fxlab.audio.level_profile`
        of the training part (the level range the model will know); ``latency_from``: "reamp
        clicks", "onset of the response" or "given".
    """
    sr = int(pair.sr)
    if pair.reamp is not None:  # the reamp signal says where its parts are
        train_part = pair.dry[slice(*pair.reamp.train)]
        held_part = pair.dry[slice(*pair.reamp.takes[0])]
    else:
        cut = int(round(pair.n * float(train_fraction)))
        train_part, held_part = pair.dry[:cut], pair.dry[cut:]
    trained = level_profile(train_part, sr=sr)
    report: dict[str, Any] = {
        "sr": sr, "samples": int(pair.n), "seconds": pair.n / sr,
        "dry": level_profile(pair.dry, sr=sr), "wet": level_profile(pair.wet, sr=sr),
        "train_dry_peak_dbfs": trained["peak_dbfs"],
        "train_dry_levels": trained,
        "heldout_dry_peak_dbfs": (level_profile(held_part, sr=sr)["peak_dbfs"]
                                  if held_part.size else None),
        "esr_vs_wire": esr(pair.wet, pair.dry),
        "latency_samples": int(pair.offset_samples),
        "latency_from": ("reamp clicks" if pair.clicks is not None else
                         "onset of the response" if pair.latency is not None else "given"),
        "relatedness": float(pair.latency.relatedness) if pair.latency is not None else None,
        "reamp": pair.reamp.to_dict() if pair.reamp is not None else None,
    }
    if pair.reamp is not None:
        (a0, a1), (b0, b1) = pair.reamp.takes
        takes = esr(pair.wet[a0:a1], pair.wet[b0:b1])
        report.update(two_takes_esr=takes, floor_esr=takes / 2.0)
    if wet2 is not None:
        s1, s2 = max(0, -pair.offset_samples), max(0, -wet2.offset_samples)
        lo, hi = max(s1, s2), min(s1 + pair.n, s2 + wet2.n)
        if hi - lo < sr // 10:
            raise LengthMismatchError(problem(
                f"{wet2.wet_path} against {pair.wet_path}",
                found=f"{max(hi - lo, 0)} samples in common after aligning each to the dry",
                expected="two takes of the same dry signal", fix="pass a second take of the "
                "same dry file through the same effect settings"))
        a, b = pair.wet[lo - s1:hi - s1], wet2.wet[lo - s2:hi - s2]
        takes = esr(a, b)
        report.update(two_takes_esr=takes, floor_esr=takes / 2.0,
                      wet2_latency_samples=int(wet2.offset_samples))
    return report


def _db(v: float | None) -> str:
    return "n/a" if v is None else ("-inf" if v == -math.inf else f"{v:+.1f}")


def format_report(report: Mapping[str, Any]) -> list[str]:
    """The data report as lines of plain text (what ``fxlab train`` prints)."""
    d, w = report["dry"], report["wet"]
    lines = [
        f"data: {report['seconds']:.1f} s at {report['sr']} Hz, latency "
        f"{report['latency_samples']} samples",
        f"  dry: peak {_db(d['peak_dbfs'])} dBFS, RMS {_db(d['rms_dbfs'])} dBFS; 50 ms levels "
        f"{_db(d['active_p5_dbfs'])} to {_db(d['active_p95_dbfs'])} dBFS (5th-95th percentile)",
        f"  wet: peak {_db(w['peak_dbfs'])} dBFS, RMS {_db(w['rms_dbfs'])} dBFS",
        f"  the model will know inputs up to {_db(report['train_dry_peak_dbfs'])} dBFS peak (the "
        "training part's): playing louder than that is extrapolation",
        f"  ESR against a straight wire {report['esr_vs_wire']:.3g} (how far the effect is from "
        "bypass; a model must beat this by far to be worth anything)",
    ]
    held = report.get("heldout_dry_peak_dbfs")
    if held is not None and held > report["train_dry_peak_dbfs"] + 1.0:
        lines.append(f"  note: the held-out part peaks at {_db(held)} dBFS, louder than the "
                     "training part: its ESR measures extrapolation")
    if report.get("relatedness") is not None:
        r = report["relatedness"]
        lines.append(f"  relatedness {r:.3f} (fraction of the wet explained by a causal linear "
                     "response to the dry; ~1 for an EQ, lower for distortion, ~0 unrelated)")
    if report.get("reamp"):
        rp = report["reamp"]
        lines.append(f"  fxlab's reamp signal: training on {(rp['train'][1] - rp['train'][0]) / rp['sr']:.1f} s, "
                     f"held out: its first validation take; latency: {report['latency_from']}")
    if "two_takes_esr" in report:
        lines.append(f"  two takes: ESR {report['two_takes_esr']:.3g} against each other; the "
                     f"floor for a model is about {report['floor_esr']:.3g}")
        if report["two_takes_esr"] > SELF_ESR_LIMIT:
            lines.append(f"  warning: the two takes differ by more than ESR {SELF_ESR_LIMIT:g}: the "
                         "gear does not sound like itself (noise, drift, a time-varying effect "
                         "such as a chorus, or a recording problem); no model can be graded "
                         "better than that")
    return lines


SILENCE_SECONDS = 1.0
"""The silence fed after the held-out input by :func:`silence_check`, seconds."""
STUCK_DB = -40.0
"""A model whose output, after that silence, stays above this level relative to the held-out
target's RMS (and above the recording's own quietest 50 ms) has not fallen silent."""


#: The probes :func:`silence_check` plays besides the held-out input: shipped recordings that
#: neither the reamp signal's body nor its validation use, each at several levels.
SILENCE_PROBES = ("piano", "guitar_harmonics", "speech")
SILENCE_PROBE_SECONDS = 3.0
SILENCE_PROBE_LEVELS_DB = (-3.0, -9.0, -20.0)
"""Probe peaks relative to the training input's peak, dB."""


def silence_check(model, dry: np.ndarray, wet: np.ndarray, *, sr: int,
                  train_peak_dbfs: float | None = None) -> dict[str, Any]:
    """Does the model fall silent when the input stops?

    A recurrent network trained on short segments, each started from a zero state, is never
    shown what its state does over seconds: after loud input it can settle into a fixed point
    away from zero and hold a constant output (measured: an LSTM-32 captured from a drive held
    -0.45 after a piano chord at -10 dBFS ended, ESR 0.64 on that clip, while its held-out grade
    said "not bad" and it fell silent after the held-out input itself). So the model plays the
    held-out input and each of :data:`SILENCE_PROBES` (their first
    :data:`SILENCE_PROBE_SECONDS`, at :data:`SILENCE_PROBE_LEVELS_DB` below the training peak),
    each followed by :data:`SILENCE_SECONDS` of digital silence; the output's RMS over the last
    half of the silence is compared with the held-out target's RMS and with the recording's
    quietest 50 ms (its noise floor). The worst case is reported.

    Returns
    -------
    dict
        ``falls_silent`` (bool), ``after_silence_dbfs`` (the output's RMS there, worst case),
        ``relative_db`` (re the target's RMS), ``floor_dbfs`` (the recording's quietest 50 ms),
        ``probe`` (what was playing before the worst silence).
    """
    from fxlab.recordings import load_recording

    w = np.asarray(wet, np.float64).reshape(-1)
    target = float(np.sqrt(np.mean(w ** 2))) or 1e-12
    frame = max(1, int(0.05 * sr))
    frames = w[:w.size // frame * frame].reshape(-1, frame) if w.size >= frame else w.reshape(1, -1)
    floor = float(np.min(np.sqrt(np.mean(frames ** 2, axis=1))))
    d = np.asarray(dry, np.float32).reshape(-1)
    peak = train_peak_dbfs if train_peak_dbfs is not None else _to_db(float(np.max(np.abs(d))))
    probes = {"the held-out input": d}
    for name in SILENCE_PROBES:
        clip = load_recording(name, sr=sr)[:int(SILENCE_PROBE_SECONDS * sr)]
        for rel in SILENCE_PROBE_LEVELS_DB:
            scale = 10.0 ** ((peak + rel) / 20.0) / max(float(np.max(np.abs(clip))), 1e-12)
            probes[f"{name} at {peak + rel:.0f} dBFS peak"] = (clip * scale).astype(np.float32)
    silence = np.zeros(int(SILENCE_SECONDS * sr), np.float32)
    worst_name, worst = "", -np.inf
    for name, x in probes.items():
        y = np.asarray(model.predict(np.concatenate([x, silence])), np.float64).reshape(-1)
        rms = float(np.sqrt(np.mean(y[-silence.size // 2:] ** 2)))
        if rms > worst:
            worst_name, worst = name, rms
    relative = 20 * np.log10(max(worst, 1e-12) / target)
    stuck = relative > STUCK_DB and worst > 2.0 * floor
    return {"falls_silent": not stuck, "after_silence_dbfs": _to_db(worst),
            "relative_db": float(relative), "floor_dbfs": _to_db(floor), "probe": worst_name}


def _to_db(v: float) -> float:
    return float(20 * np.log10(max(v, 1e-12)))


def grade(esr: float, *, floor: float | None = None, history: Sequence[Mapping] | None = None,
          summary: Mapping | None = None, report: Mapping | None = None,
          silence: Mapping | None = None) -> dict[str, Any]:
    """A held-out ESR in plain words, with what would likely help.

    Parameters
    ----------
    esr : float >= 0
        The model's ESR on the held-out part.
    floor : float or None
        The floor two takes set (:func:`pair_report`'s ``floor_esr``).
    history : list of dict or None
        The training history rows (``loss``, ``val_loss``/``val_esr`` per epoch).
    summary : dict or None
        The training summary (``stopped``, ``best_epoch``, ``epochs_run``).
    report : dict or None
        The data report (levels of the training and held-out parts).
    silence : dict or None
        :func:`silence_check`'s result: a model that does not fall silent is graded poor
        whatever its ESR, with the reason.

    Returns
    -------
    dict
        ``esr``, ``words`` (from :data:`GRADE_SCALE`), ``scale`` (the scale as text), ``floor``,
        ``advice`` (list of sentences), ``text`` (one paragraph); with ``report``: ``in_step``
        (the frame the ESR was measured in: the latency removed and how a host lines the model
        up with the effect's recording), ``input_range`` (peak and 50 ms level percentiles of
        the training input, dBFS) and ``input_range_text``.
    """
    words = next(w for bound, w in GRADE_SCALE if esr < bound)
    scale = "ESR < 0.01 great, < 0.035 not bad, < 0.1 may sound OK, above: poor"
    advice: list[str] = []
    if silence is not None and not silence["falls_silent"]:
        words = GRADE_SCALE[-1][1]
        advice.append(
            f"it does not fall silent when the input stops: after {silence['probe']} and "
            f"{SILENCE_SECONDS:g} s of silence its output holds at {silence['after_silence_dbfs']:.0f} dBFS "
            f"({silence['relative_db']:.0f} dB re the held-out target; the recording's own floor "
            f"{silence['floor_dbfs']:.0f} dBFS): its state is stuck away from zero. Train longer, "
            "on material with silences after loud passages (fxlab reamp-signal has them), or try "
            "--model gru")
    at_floor = floor is not None and esr <= 1.5 * floor
    if at_floor:
        advice.append(f"it is at the floor the two takes set ({floor:.3g}): the recording's own "
                      "noise limits it, not the model; longer training will not help")
    if summary is not None and not at_floor:
        still = summary.get("best_epoch") == summary.get("epochs_run")
        if still and summary.get("stopped") in ("time budget", "epochs done"):
            advice.append("it was still improving when training stopped: train longer "
                          "(a larger --minutes, or --resume)")
    if history and not at_floor:
        last = history[-1]
        train_loss, val = last.get("loss"), last.get("val_loss")
        if train_loss and val and val > 2.0 * train_loss:
            advice.append("the held-out part scores much worse than the training part: record "
                          "more, and more varied, material (every level and playing you will use)")
        elif esr >= 0.035 and not any("train longer" in a for a in advice):
            advice.append("training and held-out errors are alike and high: a larger model may "
                          "help (e.g. --units 64)")
    if report is not None:
        held = report.get("heldout_dry_peak_dbfs")
        if held is not None and held > report.get("train_dry_peak_dbfs", held) + 1.0:
            advice.append("the held-out part is louder than anything trained on: record the "
                          "loudest playing you will use in the training part too")
    if not advice and esr < 0.01:
        advice.append("nothing needed")
    text = (f"held-out ESR {esr:.3g}: {words} (scale: {scale})"
            + (f"; floor from two takes {floor:.3g}" if floor is not None else "")
            + ". " + "; ".join(advice) + ".")
    out = {"esr": float(esr), "words": words, "scale": scale, "floor": floor,
           "advice": advice}
    if silence is not None:
        out["silence"] = dict(silence)
    if report is not None:
        latency = int(report.get("latency_samples", 0))
        sr = int(report.get("sr", 0)) or None
        out["in_step"] = (
            "measured in step: the model's output against the effect's, sample for sample"
            + (f", with the effect's {latency} samples of latency ({1000 * latency / sr:.2f} ms, "
               f"{report.get('latency_from', 'measured')}) removed: the model answers at once, "
               f"so to line it up with the effect's own recording delay the model's output by "
               f"{latency} samples" if latency else ", with no latency removed"))
        lv = report.get("train_dry_levels") or {}
        if lv:
            out["input_range"] = {k: lv[k] for k in ("peak_dbfs", "active_p5_dbfs",
                                                     "active_p95_dbfs")}
            out["input_range_text"] = (
                f"trained on inputs up to {_db(lv['peak_dbfs'])} dBFS peak (50 ms levels "
                f"{_db(lv['active_p5_dbfs'])} to {_db(lv['active_p95_dbfs'])} dBFS): louder "
                "input is extrapolation")
        text += " " + out["in_step"][0].upper() + out["in_step"][1:] + "."
        if "input_range_text" in out:
            text += " " + out["input_range_text"][0].upper() + out["input_range_text"][1:] + "."
    out["text"] = text
    return out
