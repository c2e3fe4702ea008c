"""What the report shows of an evaluation: the answers, the results table, the audio players."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from fxlab.audio import loudest_start
from fxlab.errors import ParameterError, PipelineError, problem, unknown_name
from fxlab.evaluate.reference import learning_curve, load_reference
from fxlab.evaluate.thesis import (
    SPLIT_LABELS,
    SPLIT_NAMES,
    THESIS_MODELS,
    THESIS_SHORT,
    THESIS_VALIDATION_MSE,
)
from fxlab.evaluate.visqol import visqol_html
from fxlab.util import Html, fmt, html_table

__all__ = ["answers", "audio_players_html", "read_metrics", "recordings_html",
           "reference_on_this_stretch", "results_table_html",
           "thesis_networks_html", "training_info"]

#: The traditional emulator's model name: scored like every model, but not a network, so the
#: answers about networks leave it out (:mod:`fxlab.evaluate.graybox` sets the two side by side).
EMULATOR = "graybox"


# ------------------------------------------------------------------ answers and table


def read_metrics(run_dir: str | os.PathLike) -> dict:
    """The evaluation's ``run_dir/metrics.json``.

    Raises
    ------
    PipelineError
        If the evaluation has not run (saying which step makes it).
    """
    p = Path(run_dir) / "metrics.json"
    if not p.exists():
        raise PipelineError(problem(
            p, found="no metrics.json", expected="the output of step 03_evaluate",
            fix="run notebook 03_evaluate (fxlab run --steps 03_evaluate)"))
    return json.loads(p.read_text())


def _ratio(ours: float, theirs: float) -> str:
    """``"144× lower"``, ``"2.1× higher"`` or ``"about the same (within 1.5×)"``."""
    if not (ours and theirs and ours > 0 and theirs > 0):
        return "not comparable"
    f = max(ours / theirs, theirs / ours)
    if f < 1.5:
        return "about the same (within 1.5×)"
    return f"{f:.3g}× {'lower' if ours < theirs else 'higher'}"


def _training_text(t: Mapping[str, Any] | None) -> str:
    if not t or t.get("wall_s") is None:
        return "training not recorded"
    windows = t.get("windows_seen")
    unit = "windows" if t.get("family", "windowed") == "windowed" else "samples in the loss"
    seen = f"{windows:,} {unit}, " if windows else ""
    return f"{seen}{t.get('epochs_run')} epoch(s), {fmt(t['wall_s'] / 60, 2)} min"


def reference_on_this_stretch(result: Mapping[str, Any],
                              reference: Mapping[str, Any] | None) -> tuple[str | None, str]:
    """Which of the reference run's measures was taken on this run's stretch of the clips.

    The reference run carries the thesis's measure twice (:func:`fxlab.evaluate.reference.
    export_reference`): on its own stretch (``combined``; whole clips) and on the loudest excerpt
    of each clip (``combined_excerpts``; the quick profile's windowed excerpts). Only the one
    taken on the same samples as this run's ``combined`` compares with it.

    Returns
    -------
    key : str or None
        ``"combined"``, ``"combined_excerpts"``, or None when neither matches this run's stretch.
    why : str
        The stretch, in words (or why nothing matches).
    """
    ours = (result.get("combined") or {}).get("stretches") or {}
    if not reference or not ours:
        return None, "no reference run, or this run has no common stretch"
    sr = float(result.get("sr", 44100))

    def same(theirs: Mapping[str, Any] | None) -> bool:
        return bool(theirs) and set(theirs) == set(ours) and all(
            round(theirs[k]["start_s"] * sr) == round(ours[k]["start_s"] * sr)
            and round(theirs[k]["seconds"] * sr) == round(ours[k]["seconds"] * sr) for k in ours)

    for key in ("combined", "combined_excerpts"):
        if same(reference.get(f"{key}_stretches")):
            return key, reference.get(f"{key}_definition") or ""
    return None, "the reference run was not scored on this run's stretch of the clips"


def answers(result: Mapping[str, Any], *, training: Mapping[str, Any] | None = None,
            reference: Mapping[str, Any] | None = None,
            rtf: Mapping[str, float] | None = None) -> dict[str, str]:
    """The thesis's questions, answered in a sentence each from like-for-like numbers only.

    Parameters
    ----------
    result : dict
        The content of ``metrics.json``.
    training : dict, optional
        ``{model: {"wall_s", "epochs_run", "windows_seen"}}`` of this run (:func:`training_info`).
    reference : dict, optional
        fxlab's reference reproduction (:func:`fxlab.evaluate.reference.load_reference`).
    rtf : dict, optional
        ``{model: real-time factor}`` at 64-sample blocks (``latency.json``).

    Returns
    -------
    dict with keys
        ``"spectrum"`` (does the network preserve the frequency spectrum), ``"best"`` (which
        architecture does best, on the thesis's measure, every model on the same data),
        ``"reproduction"`` (each thesis network: the thesis's figure against fxlab's reproduction
        of the same network, on the same measure) and ``"modern"`` (the reproduction against the
        modern networks: accuracy on the same data, training time, cost per output sample).
        Nothing compares measures taken on different data.
    """
    models = result.get("models", {})
    if not models:
        none = "No model was evaluated."
        return {"spectrum": none, "best": none, "reproduction": none, "modern": none}
    training, rtf = dict(training or {}), dict(rtf or {})
    combined = result.get("combined", {}).get("models", {})
    return {"spectrum": _spectrum_answer(result, models),
            "best": _best_answer(result, models, combined),
            "reproduction": _reproduction_answer(result, combined, training, reference),
            "modern": _modern_answer(result, models, combined, training, rtf)}


def _spectrum_answer(result: Mapping[str, Any], models: Mapping[str, Any]) -> str:
    """Does each network preserve the spectrum: LSD (and the magnitude response, where measured)
    within the run's thresholds."""
    cfg = result.get("config", {})
    lsd_t = float(cfg.get("lsd_threshold_db", 1.0))
    resp_t = float(cfg.get("response_threshold_db", 1.0))
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
        return f"Yes: every model preserves the spectrum ({crit}): " + "; ".join(yes) + "."
    if yes:
        return f"Partly: {'; '.join(yes)} preserve the spectrum ({crit}); {'; '.join(no)} do not."
    return f"No: no model meets the criterion ({crit}): " + "; ".join(no) + "."


def _best_answer(result: Mapping[str, Any], models: Mapping[str, Any],
                 combined: Mapping[str, Any]) -> str:
    """Which network does best on the thesis's measure (every model on the same stretch)."""
    nets = [n for n in combined if n != EMULATOR]
    if not nets:
        return "Not answered: the models were not scored on a common stretch of the clips."
    ranked = sorted(nets, key=lambda n: combined[n]["mse"])
    best = ranked[0]
    emulator = (f" The traditional emulator ({EMULATOR}, not a network) scores MSE "
                f"{fmt(combined[EMULATOR]['mse'])} on the same measure: see the section that "
                "answers the thesis's question." if EMULATOR in combined else "")
    return (f"On the thesis's measure ({result['combined']['definition']}), {best} "
            f"({models[best]['family']}, {models[best]['param_count']:,} parameters) does "
            f"best, with MSE {fmt(combined[best]['mse'])} (ESR {fmt(combined[best]['esr'])})"
            + (f"; ranking: {' < '.join(ranked)}" if len(ranked) > 1 else "") + "." + emulator)


def _reproduction_answer(result: Mapping[str, Any], combined: Mapping[str, Any],
                         training: Mapping[str, Any], reference: Mapping[str, Any] | None) -> str:
    """Each thesis network: the thesis's figure against the reference run and this run."""
    parts = []
    ref_key, _ = reference_on_this_stretch(result, reference)
    for label, thesis_mse in THESIS_VALIDATION_MSE.items():
        name = THESIS_MODELS[label]
        ref = (reference or {}).get("models", {}).get(name)
        ours = combined.get(name)
        if ref is None and ours is None:
            continue
        bits = [f"{THESIS_SHORT[label]}: the thesis reported {fmt(thesis_mse, 4)} (its whole clips)"]
        if ref and ref.get("combined"):
            whole = ("whole clips" if all(m.get("whole_clip", True) for m in ref.get("splits", {}).values())
                     else "its excerpts")
            bits.append(f"fxlab's reference run {fmt(ref['combined']['mse'])} on the {whole} "
                        f"({_ratio(ref['combined']['mse'], thesis_mse)}; "
                        f"{_training_text(ref.get('training'))})")
        if ours:
            same = ref.get(ref_key) if ref and ref_key else None
            bits.append(f"this run {fmt(ours['mse'])} ({_ratio(ours['mse'], thesis_mse)}; "
                        f"{_training_text(training.get(name))})"
                        + (f" against the reference run's {fmt(same['mse'])} on the same "
                           f"samples ({_ratio(ours['mse'], same['mse'])})"
                           if same and ref_key != "combined" else ""))
        parts.append(", ".join(bits))
    return ("On the same measure (MSE over the voice clip followed by the synthetic one, "
            "as the thesis's Fig. 15; fxlab's clips are its own recordings of the same "
            "kinds): " + "; ".join(parts) + "." if parts else
            "No thesis network was trained in this run and no reference run is shipped.")


def _modern_answer(result: Mapping[str, Any], models: Mapping[str, Any],
                   combined: Mapping[str, Any], training: Mapping[str, Any],
                   rtf: Mapping[str, float]) -> str:
    """The best modern network against the best reproduction of the thesis's: accuracy on the
    same data, training time, cost per output sample."""
    windowed = [n for n in combined if models[n]["family"] == "windowed"]
    sample = [n for n in combined if models[n]["family"] == "sample" and n != EMULATOR]
    if not (windowed and sample):
        return "Not answered: this run has not both a thesis network and a modern one."
    w = min(windowed, key=lambda n: combined[n]["mse"])
    m = min(sample, key=lambda n: combined[n]["mse"])

    def cost(n: str) -> str:
        if n not in rtf:
            return "cost not measured"
        sr = float(result.get("sr", 44100))
        return f"{fmt(rtf[n] / sr * 1e6, 3)} µs per output sample (RTF {fmt(rtf[n])})"

    return (f"On the same data, the best modern network, {m} (MSE {fmt(combined[m]['mse'])}; "
            f"{_training_text(training.get(m))}; {cost(m)}), against the best reproduction "
            f"of the thesis's networks in this run, {w} (MSE {fmt(combined[w]['mse'])}; "
            f"{_training_text(training.get(w))}; {cost(w)}): "
            f"{_ratio(combined[m]['mse'], combined[w]['mse'])} error.")


def training_info(run_dir: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{model: {"wall_s", "epochs_run", "windows_seen"}}`` from a run's model folders.

    ``windows_seen``: training examples in the loss over all epochs (windowed: windows;
    sample-level: segment samples), from ``history.csv``.
    """
    out = {}
    root = Path(run_dir) / "models"
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if not (d / "summary.json").exists():
            continue
        s = json.loads((d / "summary.json").read_text())
        h = learning_curve(d)
        out[d.name] = {"wall_s": s.get("wall_s"), "epochs_run": s.get("epochs_run"),
                       "family": s.get("family"),
                       "windows_seen": h[-1]["windows_seen"] if h else None}
    return out


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
    """The report's results: this run's table, the thesis's networks three ways, the answers.

    1. One row per evaluated model: parameters, the thesis's measure (MSE and ESR over V2 then V1,
       every model on the same stretch), MSE and ESR per clip, 12-bit accuracy, log-spectral
       distance, largest response deviation, real-time factor from ``latency.json`` when present,
       what was evaluated.
    2. The models on real instruments they never heard (:func:`recordings_html`), and the
       perceptual score of every model on every clip with its controls
       (:func:`fxlab.evaluate.visqol.visqol_html`; when the run scored it).
    3. Per thesis network, three rows on the thesis's measure (:func:`thesis_networks_html`).
    4. One sentence per question (:func:`answers`).

    A run on another effect than the thesis's (the ``pedal`` profile, a user's own) gets 1, 2 and
    the questions that do not compare with the thesis: the thesis's figures and fxlab's
    reference run were taken on the 440 Hz high-pass and say nothing about another effect. The
    response column is left out where no model was measured (a nonlinear effect has no single
    magnitude response).

    Raises
    ------
    PipelineError
        If ``run_dir/metrics.json`` does not exist.
    """
    run = Path(run_dir)
    result = read_metrics(run)
    rtf = _read_rtf(run)
    models = result.get("models", {})
    combined = result.get("combined", {}).get("models", {})
    splits = [s for s in ("val1", "val2") if any(s in e["splits"] for e in models.values())]
    head = ["model", "family", "parameters", "MSE V2+V1 (the thesis's measure)", "ESR V2+V1"]
    head += [f"MSE {SPLIT_LABELS[s]}" for s in splits] + [f"ESR {SPLIT_LABELS[s]}" for s in splits]
    from fxlab.effects import STUDY_EFFECT, effect_from_spec

    thesis_task = result.get("effect") is None or (
        effect_from_spec(result["effect"]).spec == effect_from_spec(STUDY_EFFECT).spec)
    has_response = any(e.get("response") for e in models.values())
    head += ["12-bit accuracy", "log-spectral distance (dB)"]
    if has_response:
        head.append("response deviation below / above "
                    f"{result.get('config', {}).get('cutoff_hz', 440):g} Hz (dB)")
    head += ["real-time factor (64-sample blocks)", "evaluated on"]
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
        c = combined.get(name, {})
        rows.append([Html(f"<b>{html.escape(name)}</b>"), e["family"], int(e["param_count"]),
                     c.get("mse"), c.get("esr"),
                     *[sp[s]["mse"] if s in sp else None for s in splits],
                     *[sp[s]["esr"] if s in sp else None for s in splits],
                     acc, lsd, *([dev] if has_response else []), rtf.get(name), where])
    reference = load_reference()
    training = training_info(run)
    ans = answers(result, training=training, reference=reference, rtf=rtf)
    definition = result.get("combined", {}).get("definition", "")
    caption = ("Results on the validation clips: V1 = synthetic signals with unseen seeds, "
               "V2 = recorded speech. The thesis's measure: " + definition + ". MSE and 12-bit "
               "accuracy as the thesis (section 3.5.1); ESR = error energy / target energy; "
               "log-spectral distance over 20 Hz–20 kHz (V1 / V2); real-time factor from "
               "latency.json (processing time / audio time, below 1 is faster than real time).")
    out = [_RESULTS_STYLE,
           html_table(head, rows, caption=caption, css_class="fxlab-table fxlab-results"),
           recordings_html(result), visqol_html(result)]
    questions = [("spectrum", "Does the network preserve the frequency spectrum?"),
                 ("best", "Which architecture does best?")]
    if thesis_task:
        out.append(thesis_networks_html(result, training=training, reference=reference))
        questions[1:1] = [("reproduction", "Does fxlab reproduce the thesis's networks?")]
        questions.append(("modern", "The thesis's networks against the modern ones"))
    else:
        fx = html.escape(effect_from_spec(result["effect"]).describe())
        out.append(f"<p>This run's effect is <b>{fx}</b>, not the thesis's 440 Hz high-pass: the "
                   "thesis's figures and fxlab's reference reproduction were taken on that filter "
                   "and are not compared here.</p>")
    for key, question in questions:
        out.append(f'<p class="fxlab-answer"><b>{question}</b> {html.escape(ans[key])}</p>')
    return "\n".join(out)


def recordings_html(result: Mapping[str, Any]) -> Html | str:
    """This run's models on real instruments they never heard (``metrics.json``'s ``recordings``).

    One row per scored model: ESR, MSE and log-spectral distance over all the shipped instrument
    recordings joined, and the ESR of each recording; the caption says how they were played and
    which models were not scored, and why. Empty when the run did not score them.
    """
    rec = result.get("recordings")
    if not rec or not rec.get("models"):
        return ""
    names = list(rec.get("recordings", {}))
    head = ["model", "ESR, all", "MSE, all", "log-spectral distance (dB)",
            *[f"ESR {n} ({rec['recordings'][n]:g} s)" for n in names]]
    rows = [[Html(f"<b>{html.escape(m)}</b>"), v["esr"], v["mse"], v["lsd_db"],
             *[v["per_recording"].get(n) for n in names]] for m, v in rec["models"].items()]
    caption = f"Real instruments: {rec['definition']}."
    if rec.get("skipped"):
        by_reason: dict[str, list[str]] = {}
        for m, why in rec["skipped"].items():
            by_reason.setdefault(why, []).append(m)
        caption += " Not scored: " + "; ".join(
            f"{', '.join(ms)}: {why}" for why, ms in by_reason.items()) + "."
    return html_table(head, rows, caption=caption, css_class="fxlab-table fxlab-results")


def thesis_networks_html(result: Mapping[str, Any], *, training: Mapping[str, Any] | None = None,
                         reference: Mapping[str, Any] | None = None) -> Html:
    """Per thesis network, three rows on the thesis's measure, side by side.

    The thesis's own figure (grey), fxlab's reference reproduction (the ``thesis`` profile,
    shipped with fxlab; its command, commit and machine in the caption) and this run: MSE and ESR
    over V2 then V1, and the training each got (windows seen, epochs, wall time). Two columns of
    MSE keep the data apart: on this run's stretch of the clips (this run's rows and the reference
    run's number on the same samples, :func:`reference_on_this_stretch`) and on the whole clips
    (the thesis's figure, on its own recordings, and the reference run's).
    """
    training = dict(training or {})
    combined = result.get("combined", {}).get("models", {})
    whole_here = bool(result.get("combined", {}).get("whole_clips"))
    head = ["network", "source", "MSE V2+V1 on this run's stretch", "ESR V2+V1 (same)",
            "MSE V2+V1, whole clips (the thesis's measure)", "training", "machine"]
    rows = []
    ref_models = (reference or {}).get("models", {})
    ref_key, ref_why = reference_on_this_stretch(result, reference)
    ref_machine = None
    if reference:
        mach = reference.get("machine", {})
        ref_machine = f"{mach.get('processor', '?')}, {mach.get('cpus', '?')} CPU cores"
    for label, thesis_mse in THESIS_VALIDATION_MSE.items():
        name = THESIS_MODELS[label]
        rows.append([Html(f'<i class="fxlab-thesis">{html.escape(THESIS_SHORT[label])}</i>'),
                     f"the thesis ({label.split('(')[-1].rstrip(')')})", None, None,
                     fmt(thesis_mse, 4), "as reported", "GTX 960M laptop GPU"])
        ref = ref_models.get(name)
        if ref is not None:
            same = (ref.get(ref_key) or {}) if ref_key else {}
            whole = ref.get("combined") if all(
                m.get("whole_clip", True) for m in ref.get("splits", {}).values()) else None
            rows.append(["", f"fxlab's reproduction, reference run ({name})", same.get("mse"),
                         same.get("esr"), (whole or {}).get("mse"),
                         _training_text(ref.get("training")), ref_machine])
        if name in combined:
            rows.append(["", f"this run ({name})", combined[name]["mse"], combined[name]["esr"],
                         combined[name]["mse"] if whole_here else None,
                         _training_text(training.get(name)), "this run's machine"])
    caption = ("The thesis's networks three ways, on the thesis's measure (MSE over the voice clip "
               "then the synthetic one). Grey: the thesis's reported figure, on its own recordings "
               "(whole clips). This run's stretch: "
               f"{result.get('combined', {}).get('definition', 'none')}.")
    if reference:
        caption += (f" Reference run: `{reference.get('command')}` at commit "
                    f"{str(reference.get('commit'))[:10]}, exported {reference.get('exported')}; "
                    + (f"its number on this run's stretch: {ref_why}." if ref_key else
                       f"its number on this run's stretch: not available ({ref_why})."))
    else:
        caption += " No reference run is shipped with this fxlab."
    return html_table(head, rows, caption=caption, css_class="fxlab-table fxlab-results")


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
    result = read_metrics(run)
    if not (isinstance(seconds, int | float) and seconds > 0):
        raise ParameterError(problem("seconds", found=repr(seconds), expected="a length > 0 s",
                                     fix="use e.g. 3"))
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
        start = lo + loudest_start(target[lo:hi], min(n, hi - lo), hop=sr // 100)
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
