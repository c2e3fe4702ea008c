"""Aggregation of the listening test: controls per rater, mean answer and 95% CI per model.

- :func:`latest_answers`   the latest answer of each rater to each trial (a changed answer replaces)
- :func:`rater_status`     whether a rater passed the hidden controls
- :func:`mean_ci95`        mean answer, Student-t 95% interval and the count of each answer
- :func:`aggregate`        per model (and per clip), over the raters who passed the controls
- :func:`write_aggregate`  read the ratings file, aggregate, write ``<run_dir>/listening/aggregate.json``
- :func:`aggregate_html`   the report's listening section (beside the thesis's LSTM), or "pending"

The figure of an aggregate is :func:`fxlab.plots.listening.plot_aggregate`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fxlab.listening.scale import ANSWERS, CONTROL_DRY, CONTROL_SAME, CONTROLS, THESIS_LSTM
from fxlab.listening.store import read_ratings
from fxlab.util import MISSING, Html, fmt, html_table, write_json

if TYPE_CHECKING:
    from fxlab.listening.config import ListeningConfig

__all__ = [
    "aggregate",
    "aggregate_html",
    "latest_answers",
    "mean_ci95",
    "rater_status",
    "write_aggregate",
]


def latest_answers(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], dict]:
    """The latest record of each (rater, session, trial): a changed answer replaces the earlier one.

    Parameters
    ----------
    records : iterable of dict
        In file order (later lines are later answers).

    Returns
    -------
    dict
        ``{(rater, session, trial): record}``.
    """
    out: dict[tuple[str, str, str], dict] = {}
    for rec in records:
        out[(rec["rater"], rec["session"], rec["trial"])] = dict(rec)
    return out


def rater_status(latest: Iterable[Mapping[str, Any]]) -> dict:
    """Whether one rater passed the hidden controls of one session.

    Rule (the controls' purpose, section 3.5.2's scale): the target against itself must be rated 4
    ("The same") and the target against the unprocessed input must not be rated 4. Any violation
    is ``"failed"``; no violation but controls still unanswered is ``"incomplete"``; every control
    answered and none violated is ``"passed"``. Only passed raters enter the aggregate.

    Parameters
    ----------
    latest : iterable of dict
        The rater's latest records in one session (see :func:`latest_answers`); each carries
        ``session_controls`` (how many controls the session has) when written by the widget.

    Returns
    -------
    dict
        ``status``, ``answered`` (trials), ``controls_answered``, ``controls_expected``,
        ``failures`` (list of ``"<trial>=<answer>"``).
    """
    latest = list(latest)
    failures, controls = [], 0
    expected = max((int(r.get("session_controls", 0)) for r in latest), default=0)
    for r in latest:
        if r["model"] == CONTROL_SAME:
            controls += 1
            if r["answer"] != 4:
                failures.append(f"{r['trial']}={r['answer']}")
        elif r["model"] == CONTROL_DRY:
            controls += 1
            if r["answer"] == 4:
                failures.append(f"{r['trial']}={r['answer']}")
    expected = max(expected, controls)
    if failures:
        status = "failed"
    elif controls == 0 or controls < expected:
        status = "incomplete"
    else:
        status = "passed"
    return {"status": status, "answered": len(latest), "controls_answered": controls,
            "controls_expected": expected, "failures": failures}


def mean_ci95(answers: Sequence[int]) -> dict:
    """Mean answer, its 95% confidence interval and the count of each answer.

    The interval is Student's t: ``mean ± t(0.975, n-1) · s / sqrt(n)`` with ``s`` the sample
    standard deviation; each answer counts as one observation (several answers of one rater are
    treated as independent, as the thesis's single-clip count was). It is not clipped to [1, 4].

    Parameters
    ----------
    answers : sequence of int in 1..4

    Returns
    -------
    dict
        ``n``, ``mean``, ``sd``, ``ci95`` (``[low, high]``; ``None`` when n < 2 or when n == 0),
        ``counts`` (``{1: n1, 2: n2, 3: n3, 4: n4}``).
    """
    a = np.asarray(list(answers), dtype=np.float64)
    counts = {k: int(np.sum(a == k)) for k in ANSWERS}
    return {**student_t_interval(a), "counts": counts}


def student_t_interval(values) -> dict:
    """``n``, ``mean``, ``sd`` and ``ci95`` = ``mean ± t(0.975, n-1) · sd / sqrt(n)`` of ``values``.

    ``mean`` is None when n == 0; ``sd`` and ``ci95`` are None when n < 2. Also the sweep's
    spread across seeds (:func:`fxlab.sweep.compare.spread`).
    """
    from scipy.stats import t as student_t

    a = np.asarray(values, dtype=np.float64)
    n = int(a.size)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "ci95": None}
    mean = float(a.mean())
    if n < 2:
        return {"n": n, "mean": mean, "sd": None, "ci95": None}
    sd = float(a.std(ddof=1))
    half = float(student_t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "ci95": [mean - half, mean + half]}


def aggregate(
    records: Iterable[Mapping[str, Any]],
    *,
    session: str | None = None,
    skipped_lines: int = 0,
) -> dict:
    """Aggregate ratings per model: mean, 95% CI, answer counts; raters who failed controls excluded.

    Parameters
    ----------
    records : iterable of dict
        Ratings in file order (:func:`~fxlab.listening.store.read_ratings`); a changed answer
        counts once, the latest.
    session : str or None
        Only this session's ratings; ``None`` pools every session (models are matched by name:
        runs of the same profile and seed make the same models).
    skipped_lines : int
        Torn or invalid lines skipped on reading, reported as is.

    Returns
    -------
    dict
        ``pending`` (True when no passed rater answered a model trial), ``raters`` (per rater and
        session: status and control answers), ``models`` (per model: :func:`mean_ci95` plus
        ``raters``), ``by_clip`` (per model and clip), ``excluded`` (raters not counted), and
        ``thesis`` (:data:`THESIS_LSTM` with its interval from its counts).
    """
    records = [dict(r) for r in records]
    if session is not None:
        records = [r for r in records if r["session"] == session]
    latest = latest_answers(records)
    by_rater: dict[tuple[str, str], list[dict]] = {}
    for (rater, sess, _trial), rec in latest.items():
        by_rater.setdefault((rater, sess), []).append(rec)
    raters = []
    passed = set()
    for (rater, sess), recs in sorted(by_rater.items()):
        st = rater_status(recs)
        raters.append({"rater": rater, "session": sess, **st})
        if st["status"] == "passed":
            passed.add((rater, sess))
    answers: dict[str, list[int]] = {}
    clip_answers: dict[str, dict[str, list[int]]] = {}
    model_raters: dict[str, set] = {}
    for (rater, sess, _trial), rec in latest.items():
        if (rater, sess) not in passed or rec["model"] in CONTROLS:
            continue
        answers.setdefault(rec["model"], []).append(int(rec["answer"]))
        clip_answers.setdefault(rec["model"], {}).setdefault(rec["clip"], []).append(
            int(rec["answer"]))
        model_raters.setdefault(rec["model"], set()).add(rater)
    models = {m: {**mean_ci95(a), "raters": len(model_raters[m])} for m, a in sorted(answers.items())}
    by_clip = {m: {c: mean_ci95(a) for c, a in sorted(cl.items())}
               for m, cl in sorted(clip_answers.items())}
    thesis_answers = [k for k, c in THESIS_LSTM["counts"].items() for _ in range(c)]
    thesis = {**THESIS_LSTM, "from_counts": mean_ci95(thesis_answers)}
    return {
        "pending": not models,
        "scale": {str(k): v for k, v in ANSWERS.items()},
        "rule": "a rater counts only if every 'target vs itself' control is rated 4 and no "
                "'target vs unprocessed input' control is rated 4, with every control answered",
        "session": session,
        "sessions": sorted({s for _, s in by_rater}),
        "n_records": len(records),
        "skipped_lines": int(skipped_lines),
        "raters": raters,
        "excluded": [r for r in raters if r["status"] != "passed"],
        "models": models,
        "by_clip": by_clip,
        "thesis": thesis,
    }


def write_aggregate(config: ListeningConfig, *, session: str | None = None) -> dict:
    """Read the ratings, :func:`aggregate` them and write ``<run_dir>/listening/aggregate.json``.

    Parameters
    ----------
    config : ListeningConfig
        Uses ``run_folder``, ``ratings_file`` (the shared ratings file; it may not exist yet: the
        result is then pending) and ``pool_sessions`` (True: aggregate every session in the file;
        False: only ``session``).
    session : str or None
        This run's session id (``TrialSet.session``), recorded as ``current_session``.

    Returns
    -------
    dict
        The aggregate (also written), with ``ratings_path``, ``current_session`` and ``config``
        (:meth:`ListeningConfig.to_dict`) added.
    """
    records, skipped = read_ratings(config.ratings_file)
    agg = aggregate(records, session=None if config.pool_sessions else session,
                    skipped_lines=skipped)
    agg["ratings_path"] = str(config.ratings_file)
    agg["current_session"] = session
    agg["config"] = config.to_dict()
    write_json(config.run_folder / "listening" / "aggregate.json", agg)
    return agg


def _fmt_ci(stats: Mapping[str, Any]) -> str:
    """``"mean [low, high]"`` of :func:`mean_ci95` through :func:`~fxlab.util.fmt`; the mean alone
    when there is no interval, :data:`~fxlab.util.MISSING` when there is no answer."""
    if stats["ci95"] is None:
        return fmt(stats["mean"])
    lo, hi = stats["ci95"]
    return f"{fmt(stats['mean'])} [{fmt(lo)}, {fmt(hi)}]"


def _count(counts: Mapping[Any, int], k: int) -> int:
    # int keys from aggregate(), str keys once read back from aggregate.json
    return counts[k] if k in counts else counts[str(k)]


def _how_to(ratings_path: str) -> str:
    return (
        "<p><b>How to take the test:</b> start JupyterLab in the project folder "
        "(<code>jupyter lab</code>), open <code>notebooks/04_listening_test.ipynb</code>, run all "
        "cells, type your name and press <i>Start</i>. Listen to A and B (headphones, a quiet room) "
        "and answer how similar they sound. Each answer is saved at once to "
        f"<code>{html.escape(ratings_path)}</code>; the next <code>make report</code> includes it. "
        "Reopening the notebook with the same name resumes where you stopped. For raters "
        "without JupyterLab, <code>fxlab listen RUN</code> serves the same test as a web page "
        "(the <code>listen</code> extra).</p>"
    )


def aggregate_html(agg: Mapping[str, Any]) -> str:
    """The listening section of the report: table per model beside the thesis, raters, or pending.

    Parameters
    ----------
    agg : dict
        From :func:`aggregate` or :func:`write_aggregate`.

    Returns
    -------
    str
        HTML (:class:`~fxlab.util.Html`).
    """
    ratings_path = str(agg.get("ratings_path", "reports/listening/ratings.jsonl"))
    th = agg["thesis"]
    columns = ["model", "raters", "answers", "mean [95% CI]",
               *(f"{k}: {v}" for k, v in ANSWERS.items())]
    thesis_row = (
        th["label"], th["raters"], th["raters"],
        f"{fmt(th['mean_stated'])} as stated ({_fmt_ci(th['from_counts'])} from its counts)",
        *(_count(th["counts"], k) for k in ANSWERS),
    )
    parts = []
    if agg["pending"]:
        parts.append(
            "<p><b>Listening test pending:</b> no rater who passed the hidden controls has "
            f"answered yet ({agg['n_records']} ratings in the file, "
            f"{len(agg['raters'])} rater session(s)).</p>" + _how_to(ratings_path)
        )
        parts.append("<p>The thesis's result, for comparison:</p>"
                     + html_table(columns, [thesis_row]))
    else:
        rows = [(m, s["raters"], s["n"], _fmt_ci(s), *(_count(s["counts"], k) for k in ANSWERS))
                for m, s in agg["models"].items()]
        parts.append(
            "<p>Mean answer on the thesis's scale (1 = Not similar at all &hellip; 4 = The same) "
            "per model, over raters who passed the hidden controls; 95% Student-t intervals treat "
            "each answer as one observation. The thesis asked about one voice clip; we ask about a "
            "Validation 1 chunk and the Validation 2 speech.</p>"
            + html_table(columns, [*rows, thesis_row])
        )
        by_clip = agg.get("by_clip", {})
        if by_clip:
            parts.append("<p>Per clip:</p>" + html_table(
                ["model", "clip", "mean [95% CI]", "answers"],
                [(m, c, _fmt_ci(s), s["n"]) for m, cl in by_clip.items() for c, s in cl.items()],
            ))
        parts.append(_how_to(ratings_path))
    if agg["raters"]:
        rows = [
            (r["rater"], Html(f"<code>{html.escape(r['session'])}</code>"),
             r["status"] + (" (excluded)" if r["status"] != "passed" else ""), r["answered"],
             f"{r['controls_answered']}/{r['controls_expected']}",
             ", ".join(r["failures"]) or MISSING)
            for r in agg["raters"]
        ]
        parts.append(
            "<p>Raters: " + html.escape(agg["rule"]) + ".</p>"
            + html_table(["rater", "session", "status", "answered", "controls", "failed controls"],
                         rows)
        )
    if agg.get("skipped_lines"):
        parts.append(f"<p>{agg['skipped_lines']} torn or invalid line(s) in the ratings file "
                     "were skipped.</p>")
    return Html("\n".join(parts))
