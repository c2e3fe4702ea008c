"""Figures of training (step 02, notebook ``02_train``).

- :func:`plot_history`          training and validation curves of model folders, one panel each
                                (thesis Figs. 10, 14, 16, 18)
- :func:`plot_learning_curves`  validation MSE of the thesis's networks against windows seen and
                                wall time (drawn by :func:`fxlab.evaluate.evaluate_run`)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from fxlab.plots.common import DIFF, OUTPUT, THESIS, finish
from fxlab.training.history import read_history

__all__ = ["plot_history", "plot_learning_curves"]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def plot_history(model_dirs, *, metric: str = "loss") -> Figure:
    """Training and validation curves, one panel per model (like the thesis's Figs. 10, 14, 16, 18).

    Each panel plots, against the epoch, each validation split's ``<split>_<metric>``
    (``metric``: ``"loss"`` -- then with the training loss -- or ``"esr"``) on a log scale, with the
    best epoch marked. Returns a matplotlib Figure (not in pyplot's registry: display it to show
    it).
    """
    dirs = [Path(d) for d in model_dirs]
    cols = min(3, max(len(dirs), 1))
    rows_n = math.ceil(len(dirs) / cols) if dirs else 1
    fig = Figure(figsize=(4.6 * cols, 3.3 * rows_n))
    axes = fig.subplots(rows_n, cols, squeeze=False)
    for ax in axes.ravel()[len(dirs):]:
        ax.set_visible(False)
    for ax, d in zip(axes.ravel(), dirs, strict=False):
        hist = read_history(d) if (d / "history.csv").exists() else []  # none: no epoch finished
        summary = _read_json(d / "summary.json")
        if not hist:
            ax.text(0.5, 0.5, f"no epoch finished\n(stopped: {summary.get('stopped', '?')})",
                    ha="center", va="center", transform=ax.transAxes, fontsize=9)
        ep = [r["epoch"] for r in hist]
        marker = "." if len(ep) < 30 else None
        if metric == "loss":
            ax.plot(ep, [r["loss"] for r in hist], label="training loss", color="tab:blue", marker=marker)
        styles = {"val1": ("tab:red", "Validation 1 (synthetic)"), "val2": ("tab:green", "Validation 2 (speech)")}
        for key in hist[0] if hist else []:
            if key.endswith(f"_{metric}") and key != "loss":
                split = key[: -len(metric) - 1]
                color, label = styles.get(split, (None, split))
                ax.plot(ep, [r.get(key, np.nan) for r in hist], label=f"{label} {metric}", color=color,
                        marker=marker)
        if summary.get("best_epoch"):
            ax.axvline(summary["best_epoch"], color="0.6", ls="--", lw=0.8, label="best epoch")
        ax.set_yscale("log")
        ax.set_title(f"{d.name} ({summary.get('param_count', '?')} parameters)", fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(ep) == 1:
            ax.set_xlim(ep[0] - 0.5, ep[0] + 0.5)
        loss_name = cfg.get("train", {}).get("loss", "") if (cfg := _read_json(d / "config.json")) else ""
        ax.set_ylabel(f"loss ({loss_name})" if metric == "loss" else "ESR")
        ax.grid(alpha=0.3)
        if hist:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_learning_curves(curves: Mapping[str, Mapping[str, Sequence[Mapping[str, float]]]], *,
                         marks: Mapping[str, float] | None = None, title: str | None = None,
                         caption: str | None = None) -> Figure:
    """Validation MSE against windows seen (left) and wall time (right), one row per network.

    Parameters
    ----------
    curves : mapping network -> mapping source label -> list of epochs
        Each epoch a mapping with ``windows_seen``, ``wall_s`` and ``val1_loss``/``val2_loss``
        (MSE on the validation windows); the two are pooled (their mean: the same number of
        windows from each clip).
    marks : mapping network -> float, optional
        A figure to mark as a horizontal line on that network's panels (the thesis's MSE).
    """
    names = list(curves)
    fig = Figure(figsize=(10, 2.6 * max(len(names), 1) + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(max(len(names), 1), 2, squeeze=False))
    colours = [OUTPUT, DIFF, "#edae49", "#66a182"]
    for row, name in zip(axes, names, strict=False):
        for k, (label, epochs) in enumerate(curves[name].items()):
            pts = [(e["windows_seen"], e["wall_s"], np.mean([e[c] for c in ("val1_loss", "val2_loss")
                                                             if c in e]))
                   for e in epochs if any(c in e for c in ("val1_loss", "val2_loss"))]
            if not pts:
                continue
            w, t, v = (np.array(a, float) for a in zip(*pts, strict=True))
            for ax, x in ((row[0], w), (row[1], t / 60.0)):
                ax.plot(x, v, "o-", color=colours[k % len(colours)], ms=3, lw=1.2, label=label)
        if marks and name in marks:
            for ax in row:
                ax.axhline(marks[name], color=THESIS, ls="--", lw=1.2, label="the thesis's figure")
        for ax in row:
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
        row[0].set_xscale("log")
        row[0].set_ylabel(f"{name}\nvalidation MSE")
        row[0].legend(fontsize=7)
    axes[-1][0].set_xlabel("training windows seen")
    axes[-1][1].set_xlabel("training wall time (min)")
    return finish(fig, title, caption)
