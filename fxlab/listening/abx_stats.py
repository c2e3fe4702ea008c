"""The ABX test's statistics: the exact one-sided binomial test, per rater and pooled.

- :func:`binomial_p_value`     P(K >= k) for K ~ Binomial(N, 1/2): the chance of k or more correct
  answers out of N by guessing
- :func:`needed_correct`       the fewest correct answers out of N with p < 0.05 (12 of 16)
- :func:`abx_verdict`          correct/N, p, needed and "told apart" or "not told apart at this N"
- :func:`abx_sessions`         each rater's session: its first answer to each trial, complete or not
- :func:`abx_aggregate`        a verdict per completed session and pooled per model and clip
- :func:`write_abx_aggregate`  read the answers file, aggregate, write ``<run_dir>/listening/abx.json``
- :func:`abx_html`             the report's ABX table, or "pending"

Why a fixed N: the binomial test's p-value holds for an N chosen before the session. A rater who
stops as soon as the score looks good tests many times and finds "told apart" by chance far more
often than 5%. So N is part of the session (:class:`~fxlab.listening.abx.AbxSession`), recorded
with every answer, and only a session with all N trials answered is judged; an incomplete one is
listed as in progress. Each trial's first answer counts (the widget offers no going back).

Pooling: over the completed sessions of one model on one clip, the sum of correct answers over
the sum of trials. If no rater hears a difference, every answer is an independent fair coin, so
the pooled count is Binomial(sum of N, 1/2) and the same test applies. A pooled "told apart"
says that at least some raters heard a difference, not that every one did.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from fxlab.errors import ParameterError, problem
from fxlab.listening.store import read_abx
from fxlab.util import Html, html_table, write_json

if TYPE_CHECKING:
    from fxlab.listening.config import ListeningConfig

__all__ = [
    "ALPHA",
    "abx_aggregate",
    "abx_html",
    "abx_sessions",
    "abx_verdict",
    "binomial_p_value",
    "needed_correct",
    "write_abx_aggregate",
]

#: The significance level of the ABX verdict (one-sided).
ALPHA = 0.05
TOLD_APART = "told apart"
NOT_TOLD_APART = "not told apart at this N"


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParameterError(problem(
            "N (number of ABX trials)", found=repr(n), expected="an integer >= 1",
            fix="pass the session's trial count, e.g. 16",
        ))
    return n


def _tail(k: int, n: int) -> Fraction:
    return Fraction(sum(math.comb(n, i) for i in range(max(k, 0), n + 1)), 2 ** n)


def binomial_p_value(k: int, n: int) -> float:
    """One-sided binomial p-value: P(K >= k) for K ~ Binomial(n, 1/2), exact.

    The chance that a rater who cannot tell A from B (each answer right with probability 1/2)
    gets ``k`` or more of ``n`` trials right. Summed in integers (``math.comb``) and divided
    once, so it is exact up to the final rounding to a float: 12 of 16 gives 2517/65536 = 0.0384.

    Parameters
    ----------
    k : int in [0, n]
        Correct answers.
    n : int >= 1
        Trials.

    Returns
    -------
    float in (0, 1]
        1.0 for k = 0; 2**-n for k = n.
    """
    n = _check_n(n)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
        raise ParameterError(problem(
            "k (correct ABX answers)", found=repr(k), expected=f"an integer in [0, {n}]",
            fix="count the correct answers of the n trials",
        ))
    return float(_tail(k, n))


def needed_correct(n: int, *, alpha: float = ALPHA) -> int | None:
    """The fewest correct answers out of ``n`` whose p-value (:func:`binomial_p_value`) is below
    ``alpha``: 12 of 16, 9 of 10, 15 of 20 at 0.05.

    Parameters
    ----------
    n : int >= 1
        Trials.
    alpha : float in (0, 1)
        Significance level.

    Returns
    -------
    int or None
        None when even ``n`` of ``n`` is not enough (n <= 4 at 0.05: 4 of 4 by guessing has
        p = 1/16).
    """
    n = _check_n(n)
    a = Fraction(alpha)
    for k in range(n + 1):
        if _tail(k, n) < a:
            return k
    return None


def abx_verdict(correct: int, n: int, *, alpha: float = ALPHA) -> dict:
    """The verdict of ``correct`` right answers out of ``n`` ABX trials.

    Returns
    -------
    dict
        ``correct``, ``n``, ``p`` (:func:`binomial_p_value`), ``needed``
        (:func:`needed_correct`, None if no score out of n reaches it), ``alpha``, ``told_apart``
        (p < alpha) and ``verdict``: ``"told apart"`` or ``"not told apart at this N"`` (not
        evidence that there is no difference: a larger N may find one).
    """
    p = binomial_p_value(correct, n)
    told = p < alpha
    return {"correct": int(correct), "n": int(n), "p": p, "needed": needed_correct(n, alpha=alpha),
            "alpha": alpha, "told_apart": told, "verdict": TOLD_APART if told else NOT_TOLD_APART}


def abx_sessions(records: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Each rater's ABX session: the first answer to each trial, and whether all N are answered.

    Parameters
    ----------
    records : iterable of dict
        ABX answers in file order (:func:`~fxlab.listening.store.read_abx`).

    Returns
    -------
    list of dict
        Per (rater, session), sorted: ``rater``, ``session``, ``model``, ``clip``, ``n_trials``
        (N as recorded), ``answered`` (distinct trials answered), ``correct`` (of those),
        ``complete`` (every trial 1..N answered).
    """
    first: dict[tuple[str, str], dict[int, dict]] = {}
    for rec in records:
        first.setdefault((rec["rater"], rec["session"]), {}).setdefault(int(rec["trial"]), dict(rec))
    out = []
    for (rater, sess), by_trial in sorted(first.items()):
        n = max(int(r["n_trials"]) for r in by_trial.values())
        answered = {t: r for t, r in by_trial.items() if 1 <= t <= n}
        any_rec = next(iter(by_trial.values()))
        out.append({
            "rater": rater, "session": sess, "model": any_rec["model"], "clip": any_rec["clip"],
            "n_trials": n, "answered": len(answered),
            "correct": sum(r["answer"] == r["x"] for r in answered.values()),
            "complete": len(answered) == n,
        })
    return out


def abx_aggregate(records: Iterable[Mapping[str, Any]], *, session: str | None = None,
                  skipped_lines: int = 0, alpha: float = ALPHA) -> dict:
    """Judge each completed ABX session, and pool them per model and clip.

    Parameters
    ----------
    records : iterable of dict
        ABX answers in file order (:func:`~fxlab.listening.store.read_abx`).
    session : str or None
        Only this session's answers; ``None`` pools every session (models matched by name).
    skipped_lines : int
        Torn or invalid lines skipped on reading, reported as is.
    alpha : float
        Significance level.

    Returns
    -------
    dict
        ``pending`` (True when no session is complete), ``raters`` (per completed session:
        :func:`abx_sessions`'s fields and :func:`abx_verdict`'s), ``in_progress`` (incomplete
        sessions, not judged), ``pooled`` (per ``"<model> on <clip>"``: ``model``, ``clip``,
        ``raters``, and the verdict of the summed counts), ``alpha``, ``n_records``,
        ``skipped_lines``.
    """
    records = [dict(r) for r in records]
    if session is not None:
        records = [r for r in records if r["session"] == session]
    sessions = abx_sessions(records)
    done = [s for s in sessions if s["complete"]]
    raters = [{**s, **abx_verdict(s["correct"], s["n_trials"], alpha=alpha)} for s in done]
    groups: dict[tuple[str, str], list[dict]] = {}
    for s in done:
        groups.setdefault((s["model"], s["clip"]), []).append(s)
    pooled = {}
    for (model, clip), ss in sorted(groups.items()):
        correct, n = sum(s["correct"] for s in ss), sum(s["n_trials"] for s in ss)
        pooled[f"{model} on {clip}"] = {"model": model, "clip": clip,
                                        "raters": len({s["rater"] for s in ss}),
                                        "sessions": len(ss), **abx_verdict(correct, n, alpha=alpha)}
    return {
        "pending": not done,
        "alpha": alpha,
        "session": session,
        "n_records": len(records),
        "skipped_lines": int(skipped_lines),
        "raters": raters,
        "in_progress": [s for s in sessions if not s["complete"]],
        "pooled": pooled,
    }


def write_abx_aggregate(config: ListeningConfig, *, session: str | None = None) -> dict:
    """Read the ABX answers, :func:`abx_aggregate` them, write ``<run_dir>/listening/abx.json``.

    Parameters
    ----------
    config : ListeningConfig
        Uses ``run_folder``, ``abx_file`` (the shared answers file; it may not exist yet: the
        result is then pending) and ``pool_sessions`` (True: every session in the file; False:
        only ``session``).
    session : str or None
        This run's ABX session id (``AbxSession.session``), recorded as ``current_session``.

    Returns
    -------
    dict
        The aggregate (also written), with ``answers_path``, ``current_session`` and ``config``
        (:meth:`ListeningConfig.to_dict`) added.
    """
    records, skipped = read_abx(config.abx_file)
    agg = abx_aggregate(records, session=None if config.pool_sessions else session,
                        skipped_lines=skipped)
    agg["answers_path"] = str(config.abx_file)
    agg["current_session"] = session
    agg["config"] = config.to_dict()
    write_json(config.run_folder / "listening" / "abx.json", agg)
    return agg


def _score(v: Mapping[str, Any]) -> str:
    return f"{v['correct']}/{v['n']}"


def abx_html(agg: Mapping[str, Any]) -> str:
    """The ABX section of the report: pooled and per-rater verdicts, sessions in progress, or
    "pending".

    Parameters
    ----------
    agg : dict
        From :func:`abx_aggregate` or :func:`write_abx_aggregate`.

    Returns
    -------
    str
        HTML (:class:`~fxlab.util.Html`).
    """
    path = html.escape(str(agg.get("answers_path", "reports/listening/abx.jsonl")))
    alpha = agg.get("alpha", ALPHA)
    columns = ["correct/N", "p (one-sided)", f"needed for p < {alpha:g}", "verdict"]

    def cells(v):
        return (_score(v), v["p"], v["needed"] if v["needed"] is not None else "not reachable",
                v["verdict"])

    parts = []
    if agg["pending"]:
        parts.append(
            "<p><b>ABX test pending:</b> no rater has completed an ABX session yet "
            f"({agg['n_records']} answers in the file, {len(agg['in_progress'])} session(s) in "
            "progress).</p>")
    else:
        parts.append(
            "<p>ABX: can a rater tell the model's output from the target? Each session's score "
            "is tested against guessing (one-sided exact binomial test, N fixed before the "
            "session); pooled over the completed sessions of each model and clip, the sum of "
            "correct answers over the sum of trials.</p>"
            + html_table(["model", "clip", "raters", *columns],
                         [(v["model"], v["clip"], v["raters"], *cells(v))
                          for v in agg["pooled"].values()], digits=3)
            + "<p>Per rater (completed sessions only):</p>"
            + html_table(["rater", "session", "model", "clip", *columns],
                         [(r["rater"], Html(f"<code>{html.escape(r['session'])}</code>"),
                           r["model"], r["clip"], *cells(r)) for r in agg["raters"]], digits=3))
    if agg["in_progress"]:
        parts.append("<p>In progress (not judged until all N trials are answered):</p>"
                     + html_table(["rater", "session", "model", "clip", "answered"],
                                  [(s["rater"], Html(f"<code>{html.escape(s['session'])}</code>"),
                                    s["model"], s["clip"], f"{s['answered']} of {s['n_trials']}")
                                   for s in agg["in_progress"]]))
    parts.append(
        "<p><b>How to take the ABX test:</b> in <code>notebooks/04_listening_test.ipynb</code> "
        "(JupyterLab), type your name in the ABX widget and press <i>Start</i>; for each trial "
        "listen to A, B and X and answer which one X is. Each answer is saved at once to "
        f"<code>{path}</code>; the next <code>make report</code> includes it. For raters "
        "without JupyterLab, <code>fxlab listen RUN</code> serves the same test as a web page "
        "(the <code>listen</code> extra).</p>")
    if agg.get("skipped_lines"):
        parts.append(f"<p>{agg['skipped_lines']} torn or invalid line(s) in the ABX answers file "
                     "were skipped.</p>")
    return Html("\n".join(parts))
