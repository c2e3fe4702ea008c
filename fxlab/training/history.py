"""The training history of a model folder and the summary table of trained model folders.

The curves are drawn by :func:`fxlab.plots.training.plot_history`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from fxlab.errors import ParameterError, problem
from fxlab.util import html_table

__all__ = ["read_history", "summary_table_html"]


def read_history(model_dir) -> list[dict[str, float]]:
    """``history.csv`` of a model folder as a list of rows (floats)."""
    p = Path(model_dir) / "history.csv"
    if not p.exists():
        raise ParameterError(problem(p, found="no such file", expected="a trained model folder",
                                     fix="train the model first"))
    with p.open() as f:
        return [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]


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
