"""Figures of a user's capture (``fxlab train`` on a dry/wet pair): the evidence for its latency.

- :func:`plot_latency_evidence`  a capture's estimated impulse response around its onset, and the
  causal fit's residual per start lag (:func:`fxlab.capture.alignment.estimate_latency`)
- :func:`plot_click_alignment`   each reamp click's response, its threshold and onset
  (:func:`fxlab.capture.reamp.align_from_clicks`)

Both take an optional ``title`` and ``caption``; ``fxlab train`` saves one as ``alignment.png``.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from fxlab.plots.common import DIFF, OUTPUT, TARGET, finish, grid_figure
from fxlab.util import check_sr

__all__ = ["plot_click_alignment", "plot_latency_evidence"]


def plot_latency_evidence(estimate, *, sr: float, title: str | None = None,
                          caption: str | None = None) -> Figure:
    """The evidence for a latency estimate (:class:`fxlab.capture.alignment.LatencyEstimate`).

    Top: the estimated impulse response's taps (absolute value, dB re its largest) against lag in
    samples, the onset and the peak marked. Bottom: the causal fit's residual (fraction of the wet
    energy, log axis) for each start lag, with the acceptance level (best x (1 + margin)); the
    onset is the latest start under it.
    """
    check_sr(sr)
    fig, axes = grid_figure(2, height=2.2)
    ax = axes[0, 0]
    taps = np.abs(np.asarray(estimate.response, dtype=np.float64))
    ref = float(taps.max()) or 1.0
    with np.errstate(divide="ignore"):
        ax.plot(estimate.response_lags, 20 * np.log10(np.maximum(taps / ref, 1e-12)),
                marker=".", lw=0.8, color=TARGET)
    ax.axvline(estimate.samples, color=OUTPUT, lw=1.2,
               label=f"onset (latency) {estimate.samples} samples "
                     f"({1000 * estimate.samples / sr:.2f} ms)")
    ax.axvline(estimate.peak_lag, color=DIFF, lw=1, ls="--",
               label=f"peak {estimate.peak_lag} samples")
    ax.set_ylabel("|response| (dB re peak)")
    ax.set_ylim(bottom=-120)
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[1, 0]
    resid = np.maximum(np.asarray(estimate.residuals, dtype=np.float64), 1e-16)
    ax.semilogy(estimate.candidates, resid, marker=".", lw=0.8, color=TARGET)
    ax.axhline(float(resid.min()) * (1 + estimate.margin), color=DIFF, lw=1, ls="--",
               label=f"best fit + {100 * estimate.margin:g} %")
    ax.axvline(estimate.samples, color=OUTPUT, lw=1.2)
    ax.set_xlabel("lag (samples; wet behind dry)")
    ax.set_ylabel("causal fit residual")
    ax.legend(fontsize=8, loc="upper left")
    return finish(fig, title, caption)


def plot_click_alignment(clicks, *, sr: float, title: str | None = None,
                         caption: str | None = None) -> Figure:
    """The evidence for a latency found from the reamp signal's clicks
    (:class:`fxlab.capture.reamp.ClickAlignment`): each click's response (absolute value, dBFS)
    against lag in samples, its threshold (dashed; absent over digital silence), the onsets
    and the latency taken (solid)."""
    check_sr(sr)
    fig, axes = grid_figure(1, height=2.6)
    ax = axes[0, 0]
    colours = matplotlib.colormaps["tab10"].colors
    for k, (resp, thr, onset) in enumerate(zip(clicks.responses, clicks.thresholds,
                                               clicks.per_click, strict=True)):
        mag = np.maximum(np.abs(np.asarray(resp, np.float64)), 1e-15)
        ax.plot(clicks.response_lags, 20 * np.log10(mag), marker=".", lw=0.8, color=colours[k],
                label=f"click {k + 1}: onset {onset:+d}")
        if thr > 0:
            ax.axhline(20 * np.log10(thr), color=colours[k], lw=0.8, ls="--")
    ax.axvline(clicks.samples, color=OUTPUT, lw=1.2,
               label=f"latency {clicks.samples} samples ({1000 * clicks.samples / sr:.2f} ms)"
                     + (f", {clicks.margin} taken off" if clicks.margin else ""))
    ax.set_ylim(bottom=-300)
    ax.set_xlabel("lag (samples after the click)")
    ax.set_ylabel("|wet| (dBFS)")
    ax.legend(fontsize=8, loc="lower right")
    return finish(fig, title, caption)
