"""Figures of the listening test (step 04, notebook ``04_listening_test``).

- :func:`plot_aggregate`  mean answer with its 95% interval per model beside the thesis's LSTM,
                          and the share of each answer (``figures/listening_ratings.png``)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from fxlab.listening.scale import ANSWERS
from fxlab.plots.common import save_figure

__all__ = ["plot_aggregate"]


def plot_aggregate(agg: Mapping[str, Any], *, path: str | os.PathLike | None = None) -> Figure:
    """Figure: mean answer with 95% CI per model beside the thesis's LSTM, and answer shares.

    Parameters
    ----------
    agg : dict
        From :func:`fxlab.listening.aggregate.aggregate` or
        :func:`fxlab.listening.aggregate.write_aggregate`.
    path : path or None
        Where to save it as PNG (folder created); ``None`` does not save.

    Returns
    -------
    matplotlib.figure.Figure
        Left: mean answer (1..4) with its interval, ours in blue, the thesis's stated mean as a
        red diamond (its count-implied mean as a hollow one). Right: share of each answer per row.
    """
    models = agg["models"]
    th = agg["thesis"]
    labels = list(models) + ["thesis LSTM"]
    # A bare Figure (not pyplot): nothing is shown twice in a notebook, nothing needs a display.
    fig = Figure(figsize=(10, 0.6 * len(labels) + 2.2))
    ax0, ax1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    y = np.arange(len(labels))[::-1]
    for yi, m in zip(y[:-1], models, strict=True):
        s = models[m]
        if s["ci95"] is not None:
            lo, hi = s["ci95"]
            ax0.errorbar(s["mean"], yi, xerr=[[s["mean"] - lo], [hi - s["mean"]]], fmt="o",
                         color="C0", capsize=4)
        else:
            ax0.plot(s["mean"], yi, "o", color="C0")
        ax0.annotate(f"{s['mean']:.2f} (n={s['n']})", (s["mean"], yi), textcoords="offset points",
                     xytext=(0, 8), ha="center", fontsize=8)
    fc = th["from_counts"]
    ax0.errorbar(fc["mean"], y[-1], xerr=[[fc["mean"] - fc["ci95"][0]], [fc["ci95"][1] - fc["mean"]]],
                 fmt="D", mfc="none", color="C3", capsize=4, label="thesis, from its counts")
    ax0.plot(th["mean_stated"], y[-1], "D", color="C3", label="thesis, stated mean 2.25")
    ax0.set_yticks(y, labels)
    ax0.set_xlim(0.8, 4.2)
    ax0.set_xticks(list(ANSWERS), [f"{k}\n{v}" for k, v in ANSWERS.items()], fontsize=8)
    ax0.set_xlabel("mean answer, 95% CI")
    ax0.grid(axis="x", alpha=0.3)
    ax0.legend(fontsize=7, loc="lower right")
    if agg["pending"]:
        ax0.set_title("Listening test pending: no ratings yet", fontsize=10)
    else:
        ax0.set_title("How similar to the target? (raters who passed the controls)", fontsize=10)
    rows = [models[m]["counts"] for m in models] + [th["counts"]]
    left = np.zeros(len(labels))
    colors = ["#d7301f", "#fc8d59", "#91bfdb", "#4575b4"]
    for k, col in zip(ANSWERS, colors, strict=True):
        vals = np.array([r.get(k, r.get(str(k), 0)) for r in rows], dtype=float)
        tot = np.array([max(sum(int(v) for v in r.values()), 1) for r in rows], dtype=float)
        share = vals / tot
        ax1.barh(y, share, left=left, color=col, label=f"{k} {ANSWERS[k]}")
        left += share
    ax1.set_yticks(y, [""] * len(labels))
    ax1.set_xlim(0, 1)
    ax1.set_xlabel("share of answers")
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path, dpi=110, tight=True)
    return fig
