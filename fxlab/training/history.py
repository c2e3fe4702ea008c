"""Training curves and the summary table of trained model folders."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from fxlab.errors import ParameterError, problem
from fxlab.util import html_table

__all__ = ["plot_history", "read_history", "summary_table_html"]




def read_history(model_dir) -> list[dict[str, float]]:
    """``history.csv`` of a model folder as a list of rows (floats)."""
    p = Path(model_dir) / "history.csv"
    if not p.exists():
        raise ParameterError(problem(p, found="no such file", expected="a trained model folder",
                                     fix="train the model first"))
    with p.open() as f:
        return [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def plot_history(model_dirs, *, metric: str = "loss"):
    """Training and validation curves, one panel per model (like the thesis's Figs. 10, 14, 16, 18).

    Each panel plots, against the epoch, each validation split's ``<split>_<metric>``
    (``metric``: ``"loss"`` -- then with the training loss -- or ``"esr"``) on a log scale, with the
    best epoch marked. Returns a matplotlib Figure (closed in pyplot: display it to show it).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    dirs = [Path(d) for d in model_dirs]
    cols = min(3, max(len(dirs), 1))
    rows_n = math.ceil(len(dirs) / cols) if dirs else 1
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.6 * cols, 3.3 * rows_n), squeeze=False)
    plt.close(fig)  # shown once, where the caller displays it
    for ax in axes.ravel()[len(dirs):]:
        ax.set_visible(False)
    for ax, d in zip(axes.ravel(), dirs, strict=False):
        hist = read_history(d)
        summary = json.loads((d / "summary.json").read_text()) if (d / "summary.json").exists() else {}
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
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def summary_table_html(model_dirs) -> str:
    """An HTML table: model, family, parameters, epochs, stop reason, best epoch, wall time,
    training samples per epoch and the best epoch's validation loss and ESR per split."""
    rows = []
    for d in [Path(x) for x in model_dirs]:
        s = json.loads((d / "summary.json").read_text())
        rows.append((d.name, s))
    splits = sorted({k.rsplit("_", 1)[0] for _, s in rows for k in s.get("best", {}) if k != "loss"})
    head = ["model", "family", "parameters", "epochs", "stopped", "best epoch", "wall time (s)",
            "samples / epoch", "training loss"] + [f"{sp} {m}" for sp in splits for m in ("loss", "ESR")]
    body = []
    for name, s in rows:
        best = s.get("best", {})
        cells = [name, s["family"], s["param_count"], s["epochs_run"], s["stopped"],
                 s["best_epoch"], f"{s['wall_s']:.0f}", s["train_samples_per_epoch"], best.get("loss")]
        cells += [best.get(f"{sp}_{m}") for sp in splits for m in ("loss", "esr")]
        body.append(cells)
    return html_table(head, body)
