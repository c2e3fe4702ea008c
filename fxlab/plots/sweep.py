"""Figures of a sweep's comparison (notebook ``06_compare``, run by ``fxlab sweep``).

- :func:`plot_against`  each headline metric against one swept parameter, one line per model and
                        combination of the other swept values
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_against"]


def plot_against(series: dict[str, Any]) -> Figure:
    """A figure with one panel per metric against a swept parameter.

    Each marker is a mean over seeds, its bar the 95% interval (none for a single seed); the
    legend, one entry per line, sits above the panels.

    Parameters
    ----------
    series : dict
        From :func:`fxlab.sweep.compare.series_against`: ``param``, ``ticks`` and ``panels``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    panels = series["panels"]
    fig = Figure(figsize=(4.2 * len(panels), 3.4))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=True):
        for line in panel["lines"]:
            mean, low, high = (np.asarray(line[k], dtype=float) for k in ("mean", "low", "high"))
            ax.errorbar(line["x"], mean, yerr=[mean - low, high - mean], marker="o", capsize=3,
                        label=line["label"])
        if panel["log"]:
            ax.set_yscale("log")
        ax.set_xlabel(series["param"])
        ax.set_title(panel["title"], fontsize=9)
        if series["ticks"] is not None:
            ax.set_xticks([p for p, _ in series["ticks"]], [label for _, label in series["ticks"]])
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=min(4, len(labels)), fontsize=8,
                   bbox_to_anchor=(0.5, 1.0 + 0.05 * math.ceil(len(labels) / 4)))
    fig.tight_layout()
    return fig
