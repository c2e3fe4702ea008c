"""The style every figure of :mod:`fxlab.plots` shares, and saving a figure.

- :func:`grid_figure`   a constrained-layout :class:`~matplotlib.figure.Figure` and a grid of axes
- :func:`finish`        a figure's title (above) and caption (below, wrapped)
- :func:`hz_axis`       a log-frequency axis in Hz, 440 Hz ticked
- :func:`spectrum_db`   a long-term power spectrum for a log-frequency axis (no DC bin)
- :func:`save_figure`   write a figure as PNG (creating the folder)
- :data:`TARGET`, :data:`OUTPUT`, :data:`DIFF`, :data:`THESIS`  the colours of the target, an
  output, their difference and the thesis's figures
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from fxlab import metrics

__all__ = ["DIFF", "OUTPUT", "TARGET", "THESIS", "finish", "grid_figure", "hz_axis", "save_figure",
           "spectrum_db"]

TARGET = "#222222"
OUTPUT = "#d1495b"
DIFF = "#00798c"
THESIS = "#9e9e9e"


def grid_figure(nrows: int, ncols: int = 1, *, width: float = 9.0, height: float = 2.4,
                sharex: bool = False) -> tuple[Figure, np.ndarray]:
    """A figure ``width`` inches wide with ``nrows`` x ``ncols`` axes, each row ``height`` high.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : np.ndarray [shape=(nrows, ncols)] of Axes
    """
    fig = Figure(figsize=(width, height * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=sharex, squeeze=False)
    return fig, axes


def finish(fig: Figure, title: str | None, caption: str | None) -> Figure:
    """Draw ``title`` above the axes and ``caption`` under them (wrapped); returns ``fig``."""
    if title:
        fig.suptitle(title, fontsize=11)
    if caption:
        width_chars = int(fig.get_figwidth() * 13)
        fig.supxlabel("\n".join(textwrap.wrap(caption, width_chars)), fontsize=8.5,
                      ha="left", x=0.01, color="#444444")
    return fig


def hz_axis(ax, *, f_lo: float = 20.0, f_hi: float = 20000.0, which: str = "x") -> None:
    """Make ``ax``'s x (or y) axis a log-frequency axis in Hz from ``f_lo`` to ``f_hi``, 440 Hz ticked."""
    fmt = FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v >= 1000 else f"{v:g}")
    ticks = [f for f in (20, 50, 100, 200, 440, 1000, 2000, 5000, 10000, 20000) if f_lo <= f <= f_hi]
    axis = ax.xaxis if which == "x" else ax.yaxis
    getattr(ax, f"set_{which}scale")("log")
    getattr(ax, f"set_{which}lim")(f_lo, f_hi)
    getattr(ax, f"set_{which}ticks")(ticks)
    axis.set_major_formatter(fmt)
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    getattr(ax, f"set_{which}label")("frequency (Hz)")


def spectrum_db(x, *, sr: float, n_fft: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Long-term power spectrum of ``x`` (:func:`fxlab.metrics.power_spectrum`) without its DC bin.

    Returns
    -------
    freqs_hz : np.ndarray [shape=(m,)]
        Above 0 Hz, so every bin has a place on a log-frequency axis.
    power_db : np.ndarray [shape=(m,)]
        Power spectral density, dB re full scale squared per Hz.
    """
    freqs, power = metrics.power_spectrum(x, sr=sr, n_fft=n_fft)
    return freqs[1:], power[1:]


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 96,
                tight: bool = False) -> Path:
    """Save ``fig`` as a PNG at ``path`` (folders created); returns the path.

    ``tight=True`` trims the margins to what is drawn (``bbox_inches="tight"``), so a legend
    placed outside the axes is kept.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=dpi, bbox_inches="tight" if tight else None)
    return p
