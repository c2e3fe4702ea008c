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
from fxlab.evaluate.config import (
    SPLIT_LABELS,
    SPLIT_NAMES,
    THESIS_VALIDATION_MSE,
)
from fxlab.util import Html, fmt, html_table

__all__ = ["answers", "audio_players_html", "read_metrics", "results_table_html"]


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
    result = read_metrics(run)
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
