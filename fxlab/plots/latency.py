"""Figures of the latency step (step 05, notebook ``05_latency``).

- :func:`rtf_figure`  real-time factor against block size, one panel per model, one line per
                      engine (:func:`fxlab.latency.measure_run` measures it)
"""

from __future__ import annotations

import os

from matplotlib.figure import Figure

from fxlab.latency.config import BOUNDS_MS
from fxlab.latency.measure import KNOBS_MOVED
from fxlab.plots.common import save_figure

__all__ = ["rtf_figure"]


def rtf_figure(result: dict, *, save_to: str | os.PathLike | None = None) -> Figure:
    """RTF against block size, log-log, one panel per model, one line per engine.

    A horizontal line marks real time (RTF 1; below it the model keeps up) and dotted vertical
    lines the thesis's 3 ms and 13 ms bounds. Median as a line, 99th percentile as a shaded band.
    With ``save_to`` (a ``.png`` path) the figure is also written there (:func:`save_figure`).
    """
    names = list(result["models"])
    n = max(len(names), 1)
    cols = min(n, 3)
    rows_n = (n + cols - 1) // cols
    fig = Figure(figsize=(4.6 * cols, 3.6 * rows_n))
    axes = fig.subplots(rows_n, cols, squeeze=False)
    sr = result["sr"]
    for ax, name in zip(axes.ravel(), names, strict=False):
        entry = result["models"][name]
        for eng in [e for e, why in entry["engines"].items() if why is None]:
            for moved in (False, True):
                rs = [r for r in result["measurements"]
                      if r["model"] == name and r["engine"] == eng and not r.get("skipped")
                      and (r.get("knobs") == KNOBS_MOVED) == moved]
                if not rs:
                    continue
                b = [r["block_size"] for r in rs]
                ax.plot(b, [r["rtf"] for r in rs], "s--" if moved else "o-", lw=1.5, ms=4,
                        label=f"{eng}, knob moved every block" if moved else eng)
                ax.fill_between(b, [r["rtf"] for r in rs], [r["rtf_p99"] for r in rs], alpha=0.15)
        ax.axhline(1.0, color="k", lw=1)
        ax.text(1.05, 1.0, " real time", va="bottom", fontsize=8)
        for label, ms in BOUNDS_MS.items():
            ax.axvline(ms * 1e-3 * sr, color="grey", ls=":", lw=1)
            ax.text(ms * 1e-3 * sr, 1.0, f" {label} {ms:g} ms",
                    rotation=90, va="bottom", fontsize=7, color="grey")
        ax.set_xscale("log", base=2)
        ax.set_xlim(min(result["block_sizes"]) / 1.5, max(result["block_sizes"]) * 1.5)
        ax.set_yscale("log")
        ax.set_xlabel("block size [samples]")
        ax.set_ylabel("real-time factor (median)")
        ax.set_title(f"{name} ({entry['kind']})", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Processing time ÷ audio duration, one CPU core (band: up to the 99th percentile)",
                 fontsize=10)
    fig.tight_layout()
    if save_to is not None:
        save_figure(fig, save_to, dpi=110)
    return fig
