"""Figures of the evaluation (step 03, notebook ``03_evaluate``).

Every function returns a :class:`matplotlib.figure.Figure`; all but :func:`plot_error_vs_knob` take
an optional ``title`` (drawn above the axes) and ``caption`` (drawn under them, wrapped), so a
figure saved to a PNG explains itself.

- :func:`plot_time_comparison`   target, output and their difference over time (thesis Figs. 11,
  15, 17, 19)
- :func:`plot_spectra`           long-term spectra of target and output overlaid (Figs. 12-13)
- :func:`plot_spectrograms`      spectrograms (librosa, dB colour bars) of target and output, and their difference
- :func:`plot_responses`         each model's measured magnitude response against the effect's
- :func:`plot_band_errors`       level error per third-octave band, one line per model
- :func:`plot_model_comparison`  one number per model on a log axis, with the thesis's own values
  drawn beside ours and labelled as the thesis's (Fig. 20)
- :func:`plot_harmonics`         harmonic levels of a target and models per input level, and one
  level's output spectra overlaid (:mod:`fxlab.harmonics` measures them)
- :func:`plot_error_vs_knob`     ESR against a knob's value per model, seen settings filled, unseen
  open (:func:`fxlab.evaluate.score_over_knobs` scores them)
- :func:`plot_esr_vs_level`      ESR against input peak level per model, the trained range shaded
  (:func:`fxlab.evaluate.levels.score_over_levels` scores them)
- :func:`plot_aliasing`          aliasing and the 2nd harmonic against tone frequency, effect vs
  models, per knob setting (:func:`fxlab.evaluate.aliasing.run_aliasing` measures them)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from fxlab import metrics, response
from fxlab.errors import ParameterError, problem
from fxlab.harmonics_record import as_models, check_pair
from fxlab.plots.common import (
    DIFF,
    OUTPUT,
    TARGET,
    THESIS,
    finish,
    grid_figure,
    hz_axis,
    spectrum_db,
)
from fxlab.util import check_sr

__all__ = [
    "plot_band_errors",
    "plot_error_vs_knob",
    "plot_esr_vs_level",
    "plot_aliasing",
    "plot_harmonics",
    "plot_model_comparison",
    "plot_responses",
    "plot_spectra",
    "plot_spectrograms",
    "plot_time_comparison",
]


def _pair(target, output, sr) -> tuple[np.ndarray, np.ndarray, float]:
    t, o = metrics._pair(target, output)
    return t, o, check_sr(sr)


def plot_time_comparison(target, output, *, sr: float, title: str | None = None,
                         caption: str | None = None, labels: tuple[str, str] = ("target", "output"),
                         max_points: int = 20000) -> Figure:
    """Target, output and their difference over time, one panel each (thesis Figs. 11, 15, 17, 19).

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
        Signals on the [-1, 1] scale.
    sr : float > 0
        Sample rate in Hz (the x axis is in seconds).
    title, caption : str, optional
    labels : (str, str)
        Names of the two signals.
    max_points : int
        Long signals are drawn as a min/max envelope of this many columns.

    Returns
    -------
    matplotlib.figure.Figure
    """
    t, o, sr = _pair(target, output, sr)
    fig, axes = grid_figure(3, sharex=True, height=1.7)
    for ax, sig, name, color in zip(
            axes[:, 0], (t, o, o - t), (labels[0], labels[1], f"{labels[1]} - {labels[0]}"),
            (TARGET, OUTPUT, DIFF), strict=True):
        if sig.size > max_points:
            step = int(np.ceil(sig.size / max_points))
            n = sig.size // step * step
            blocks = sig[:n].reshape(-1, step)
            x = (np.arange(blocks.shape[0]) * step + step / 2) / sr
            ax.fill_between(x, blocks.min(axis=1), blocks.max(axis=1), color=color, lw=0)
        else:
            ax.plot(np.arange(sig.size) / sr, sig, color=color, lw=0.6)
        ax.set_ylabel(name, fontsize=9)
        ax.grid(alpha=0.3)
        peak = float(np.max(np.abs(sig))) if sig.size else 0.0
        ax.text(0.995, 0.95, f"peak {peak:.3g}", transform=ax.transAxes, ha="right", va="top",
                fontsize=8, color="#444444")
    axes[-1, 0].set_xlabel("time (s)")
    axes[-1, 0].set_xlim(0, t.size / sr)
    return finish(fig, title, caption)


def plot_spectra(target, output, *, sr: float, title: str | None = None,
                 caption: str | None = None, labels: tuple[str, str] = ("target", "output"),
                 f_lo: float = 20.0, f_hi: float = 20000.0, n_fft: int = 8192) -> Figure:
    """Long-term (Welch) spectra of target and output overlaid, dB vs log frequency (Figs. 12-13).

    A lower panel shows ``output - target`` in dB, the number the log-spectral distance
    summarises (its value is printed in the legend).

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
    sr : float > 0, Hz
    f_lo, f_hi : float, Hz
        Frequency range drawn.
    n_fft : int
        Welch segment length in samples.
    """
    t, o, sr = _pair(target, output, sr)
    f_hi = min(f_hi, sr / 2)
    freqs, pt = spectrum_db(t, sr=sr, n_fft=n_fft)
    _, po = spectrum_db(o, sr=sr, n_fft=n_fft)
    lsd = metrics.log_spectral_distance(t, o, sr=sr, f_lo=f_lo, f_hi=f_hi, n_fft=n_fft)
    sel = (freqs >= f_lo) & (freqs <= f_hi)
    fig = Figure(figsize=(9, 5.2), layout="constrained")
    ax, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    ax.plot(freqs[sel], pt[sel], color=TARGET, lw=1.0, label=labels[0])
    ax.plot(freqs[sel], po[sel], color=OUTPUT, lw=1.0, alpha=0.85, label=labels[1])
    ax.set_ylabel("power density (dB re FS²/Hz)")
    ax.legend(loc="lower left", fontsize=8, title=f"log-spectral distance {lsd:.2f} dB",
              title_fontsize=8)
    ax.grid(alpha=0.3, which="both")
    ax2.plot(freqs[sel], po[sel] - pt[sel], color=DIFF, lw=0.8)
    ax2.axhline(0, color="#888888", lw=0.8)
    ax2.set_ylabel(f"{labels[1]} - {labels[0]} (dB)", fontsize=9)
    ax2.grid(alpha=0.3, which="both")
    hz_axis(ax2, f_lo=f_lo, f_hi=f_hi)
    ax.set_xlabel("")
    return finish(fig, title, caption)


def plot_spectrograms(target, output, *, sr: float, title: str | None = None,
                      caption: str | None = None,
                      labels: tuple[str, str] = ("target", "output"), n_fft: int = 2048,
                      f_lo: float = 20.0, f_hi: float = 20000.0, floor_db: float = -100.0,
                      diff_range_db: float = 20.0) -> Figure:
    """Spectrograms of target and output side by side, and their difference in dB.

    Drawn by :func:`librosa.display.specshow` on a log-frequency axis, levels by
    :func:`librosa.amplitude_to_db` in dB re full scale (a full-scale sine reads 0 dB), each
    panel with a dB colour bar.

    Parameters
    ----------
    target, output : np.ndarray [shape=(n,)]
    sr : float > 0, Hz
    n_fft : int
        Frame length in samples (hop n_fft/4, Hann window, frames centred: :func:`librosa.stft`).
    floor_db : float
        Lowest level shown (dB re full scale).
    diff_range_db : float > 0
        The difference panel spans +-diff_range_db; levels below ``floor_db`` count as
        ``floor_db`` in it.
    """
    import librosa
    import librosa.display

    t, o, sr = _pair(target, output, sr)
    f_hi = min(f_hi, sr / 2)
    hop = n_fft // 4
    window = librosa.filters.get_window("hann", n_fft)
    scale = 2.0 / np.sum(window)  # |STFT| of a full-scale sine -> 1 (0 dB)

    def level_db(x):
        mag = np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop, window=window))
        return librosa.amplitude_to_db(mag * scale, ref=1.0, amin=1e-10, top_db=None)

    dt, do = level_db(t), level_db(o)
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    top = max(float(dt.max()), float(do.max()))
    show = {"sr": sr, "hop_length": hop, "n_fft": n_fft, "x_axis": "time", "y_axis": "log"}
    for ax, d, name in ((axes[0], dt, labels[0]), (axes[1], do, labels[1])):
        mesh = librosa.display.specshow(np.maximum(d, floor_db), ax=ax, cmap="magma",
                                        vmin=max(floor_db, top - 100), vmax=top, **show)
        mesh.set_rasterized(True)
        ax.set_title(name, fontsize=10)
    bar = fig.colorbar(mesh, ax=axes[:2], format="%+2.0f dB", shrink=0.9)
    bar.ax.set_title("re FS", fontsize=8)
    # levels below the display floor count as the floor, so where neither signal has content
    # (above the speech's 8 kHz band, say) the difference reads 0 dB, not noise against -inf
    diff = np.clip(np.maximum(do, floor_db) - np.maximum(dt, floor_db), -diff_range_db,
                   diff_range_db)
    mesh2 = librosa.display.specshow(diff, ax=axes[2], cmap="RdBu_r", vmin=-diff_range_db,
                                     vmax=diff_range_db, **show)
    mesh2.set_rasterized(True)
    axes[2].set_title(f"{labels[1]} - {labels[0]}", fontsize=10)
    bar2 = fig.colorbar(mesh2, ax=axes[2], format="%+2.0f dB", shrink=0.9)
    bar2.ax.set_title("difference", fontsize=8)
    for ax in axes:
        ax.set_xlabel("time (s)")
        ax.set_ylabel("")
    hz_axis(axes[0], f_lo=f_lo, f_hi=f_hi, which="y")
    return finish(fig, title, caption)


def plot_responses(responses: Mapping[str, response.Response], *, reference_freqs_hz,
                   reference_db, cutoff_hz: float | None = None, title: str | None = None,
                   caption: str | None = None, reference_label: str = "effect (true)",
                   f_lo: float = 20.0, f_hi: float = 20000.0, floor_db: float = -60.0) -> Figure:
    """Each model's measured magnitude response against the effect's true response.

    Parameters
    ----------
    responses : mapping name -> :class:`fxlab.response.Response`
        Measured responses (dB vs Hz).
    reference_freqs_hz, reference_db : np.ndarray [shape=(m,)]
        The effect's response in dB.
    cutoff_hz : float, optional
        Marks the cutoff and the -3 dB level there.
    floor_db : float
        Lower limit of the dB axis.
    """
    ref_f = np.asarray(reference_freqs_hz, dtype=float)
    ref_db = np.asarray(reference_db, dtype=float)
    if ref_f.shape != ref_db.shape:
        raise ParameterError(problem(
            "reference response", found=f"{ref_f.size} frequencies and {ref_db.size} levels",
            expected="one level per frequency", fix="pass arrays of the same length",
        ))
    fig = Figure(figsize=(9, 4.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(ref_f, ref_db, color=TARGET, lw=2.4, label=reference_label, zorder=3)
    cmap = matplotlib.colormaps["tab10"]
    for i, (name, r) in enumerate(responses.items()):
        ax.plot(r.freqs_hz, r.magnitude_db, lw=1.3, color=cmap(i % 10), zorder=4,
                label=f"{name} ({r.method}, {r.level_dbfs:g} dBFS)")
    if cutoff_hz:
        ax.axvline(cutoff_hz, color="#777777", lw=0.8, ls="--")
        ax.axhline(-3.0, color="#777777", lw=0.8, ls=":")
        ax.plot([cutoff_hz], [-3.0], "o", color=TARGET, ms=5, zorder=5)
        ax.annotate(f"-3 dB at {cutoff_hz:g} Hz", (cutoff_hz, -3.0), xytext=(8, -14),
                    textcoords="offset points", fontsize=8)
    all_db = np.concatenate([ref_db] + [r.magnitude_db for r in responses.values()])
    ax.set_ylim(floor_db, max(6.0, float(np.nanmax(all_db)) + 3.0))
    ax.set_ylabel("gain (dB)")
    ax.grid(alpha=0.3, which="both")
    hz_axis(ax, f_lo=f_lo, f_hi=f_hi)
    ax.legend(fontsize=8, loc="lower right")
    return finish(fig, title, caption)


def plot_band_errors(band_errors: Mapping[str, metrics.BandErrors], *,
                     title: str | None = None, caption: str | None = None) -> Figure:
    """Level error (output - target, dB) per third-octave band, one line per model.

    Parameters
    ----------
    band_errors : mapping name -> :class:`fxlab.metrics.BandErrors`
    """
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    ax = fig.subplots()
    cmap = matplotlib.colormaps["tab10"]
    lo, hi = 20.0, 20000.0
    for i, (name, be) in enumerate(band_errors.items()):
        ax.plot(be.centers_hz, be.error_db, "o-", ms=3, lw=1.1, color=cmap(i % 10), label=name)
        lo, hi = min(lo, float(be.centers_hz.min())), max(hi, float(be.centers_hz.max()))
    ax.axhline(0, color="#888888", lw=0.8)
    ax.set_ylabel("output - target (dB)")
    ax.grid(alpha=0.3, which="both")
    hz_axis(ax, f_lo=lo, f_hi=hi)
    if band_errors:
        ax.legend(fontsize=8)
    return finish(fig, title, caption)


def plot_model_comparison(values: Mapping[str, float], *, metric: str,
                          reference_values: Mapping[str, float] | None = None,
                          reference_label: str = "thesis", title: str | None = None,
                          caption: str | None = None, log: bool = True) -> Figure:
    """One number per model as horizontal bars, the thesis's values beside ours (Fig. 20).

    Parameters
    ----------
    values : mapping model name -> float
        This run's numbers (e.g. validation MSE).
    metric : str
        Axis label, e.g. ``"validation MSE (V2)"``.
    reference_values : mapping name -> float, optional
        The thesis's reported numbers; drawn hatched and grey, each labelled
        ``"<name> (<reference_label>)"``.
    log : bool
        Logarithmic value axis (errors span decades).
    """
    rows = [(name, float(v), False) for name, v in values.items()]
    rows += [(f"{name} ({reference_label})", float(v), True)
             for name, v in (reference_values or {}).items()]
    fig = Figure(figsize=(9, 0.42 * max(len(rows), 2) + 1.4), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    for yi, (_name, v, is_ref) in zip(y, rows, strict=True):
        shown = v if np.isfinite(v) and (v > 0 or not log) else np.nan
        ax.barh(yi, shown, color=THESIS if is_ref else OUTPUT, hatch="//" if is_ref else None,
                edgecolor="#555555" if is_ref else None, height=0.7)
        ax.text(shown if np.isfinite(shown) else 0, yi, f" {v:.3g}", va="center", fontsize=8)
    ax.set_yticks(y, [r[0] for r in rows], fontsize=9)
    if log and any(r[1] > 0 and np.isfinite(r[1]) for r in rows):
        ax.set_xscale("log")
        pos = [r[1] for r in rows if r[1] > 0 and np.isfinite(r[1])]
        ax.set_xlim(min(pos) / 3, max(pos) * 8)
    ax.set_xlabel(metric)
    ax.grid(alpha=0.3, axis="x", which="both")
    return finish(fig, title, caption)


def plot_harmonics(target, models, *,
                   target_label: str = "target", spectrum_level_dbfs: float | None = None,
                   floor_db: float = -120.0, title: str | None = None,
                   caption: str | None = None) -> Figure:
    """Harmonic level against harmonic number per input level, and one level's spectra overlaid.

    Top row, one panel per input level: each harmonic's level relative to the fundamental (dB)
    as bars from ``floor_db``, the target's (black) beside each model's (``tab10`` colours), THD
    in the panel's title. Bottom: the output spectra (dBFS) at ``spectrum_level_dbfs`` overlaid,
    harmonics marked with dotted lines, each system's aliasing in the legend.

    Parameters
    ----------
    target : fxlab.harmonics.Harmonics
    models : Harmonics or mapping name -> Harmonics
        Measured with the target's settings.
    target_label : str
    spectrum_level_dbfs : float, optional
        The input level whose spectra are drawn; default the highest measured.
    floor_db : float < 0
        Lower limit of the dB axes (the spectrum's is ``floor_db - 20``).
    title, caption : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    models = as_models(models)
    for name, h in models.items():
        check_pair(target, h, name)
    level = float(np.max(target.levels_dbfs)) if spectrum_level_dbfs is None \
        else float(spectrum_level_dbfs)
    li = target.level_index(level)
    systems = [(target_label, target, TARGET)]
    cmap = matplotlib.colormaps["tab10"]
    systems += [(name, h, cmap(i % 10)) for i, (name, h) in enumerate(models.items())]
    n_levels = target.levels_dbfs.size
    fig = Figure(figsize=(max(9.0, 2.4 * n_levels), 6.6), layout="constrained")
    grid = fig.add_gridspec(2, n_levels, height_ratios=(1.0, 1.15))
    ks = target.harmonic_numbers[1:]
    width = 0.8 / len(systems)
    first = None
    for i, lv in enumerate(target.levels_dbfs):
        ax = fig.add_subplot(grid[0, i], sharey=first)
        first = first or ax
        for j, (name, h, color) in enumerate(systems):
            vals = np.clip(h.harmonic_db[i, 1:], floor_db, None)
            ax.bar(ks - 0.4 + width * (j + 0.5), vals - floor_db, width, bottom=floor_db,
                   color=color, label=name)
        thd = " / ".join(f"{h.thd_percent[i]:.3g}" for _, h, _ in systems)
        ax.set_title(f"{lv:g} dBFS in\nTHD {thd} %", fontsize=9)
        ax.set_xticks(ks)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("harmonic", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
        if i == 0:
            ax.set_ylabel("level re fundamental (dB)", fontsize=9)
        else:
            ax.tick_params(labelleft=False)
    top = max(0.0, float(np.nanmax([np.nanmax(h.harmonic_db[:, 1:]) for _, h, _ in systems])))
    first.set_ylim(floor_db, top + 5.0)
    first.legend(fontsize=7, loc="upper right")
    ax = fig.add_subplot(grid[1, :])
    f = target.freqs_hz
    for name, h, color in systems:
        ax.plot(f[1:], np.clip(h.spectrum_dbfs[li, 1:], floor_db - 20, None), color=color,
                lw=0.8 if name != target_label else 1.1, alpha=0.85 if name != target_label else 1,
                label=f"{name} (aliasing {h.aliasing_db[li]:.1f} dB)")
    for k in range(1, int(np.ceil(target.sr / 2 / target.f0_hz))):
        ax.axvline(k * target.f0_hz, color="#999999", lw=0.5, ls=":", zorder=0)
    ax.set_ylim(floor_db - 20, 6.0)
    ax.set_ylabel("output level (dBFS)", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    hz_axis(ax, f_lo=max(20.0, target.f0_hz / 4), f_hi=target.sr / 2)
    ax.set_title(f"output spectrum, {target.f0_hz:g} Hz at {level:g} dBFS in "
                 f"(harmonics dotted)", fontsize=9)
    ax.legend(fontsize=8, loc="lower left")
    return finish(fig, title, caption)


def plot_error_vs_knob(scores: Mapping[str, Any], *, knob: str | None = None) -> Figure:
    """ESR (log axis) against one knob's value per model: seen settings filled, unseen open.

    With several knobs, ``knob`` picks the x axis (default: the first) and every setting is a
    point. The NAM grades are drawn as guides (< 0.01 great, < 0.035 not bad).
    """
    knobs = scores["knobs"]
    name = knob or knobs[0]["name"]
    unit = next((k.get("unit", "") for k in knobs if k["name"] == name), "")
    fig = Figure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for i, (model, rows) in enumerate(scores["models"].items()):
        xs = np.array([r["setting"][name] for r in rows], float)
        ys = np.array([max(r["esr"], 1e-9) for r in rows], float)
        seen = np.array([r["seen"] for r in rows], bool)
        order = np.argsort(xs)
        ax.plot(xs[order], ys[order], color=f"C{i}", lw=1, label=model)
        ax.plot(xs[seen], ys[seen], "o", color=f"C{i}", ms=6)
        ax.plot(xs[~seen], ys[~seen], "o", mfc="white", color=f"C{i}", ms=7)
    for level, label in ((0.01, "ESR 0.01 (great)"), (0.035, "0.035 (not bad)")):
        ax.axhline(level, color="grey", ls=":", lw=1)
        ax.annotate(label, (ax.get_xlim()[0], level), fontsize=7, color="grey", va="bottom")
    ax.set_yscale("log")
    ax.set(xlabel=f"{name}{f' ({unit})' if unit else ''}", ylabel="ESR on real recordings",
           title="error against the knob: filled = trained on, open = never seen")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_esr_vs_level(levels: Mapping[str, Any], *, title: str | None = None,
                      caption: str | None = None) -> Figure:
    """ESR (log axis) against the input's peak level (dBFS), one line per model.

    ``levels`` is :func:`fxlab.evaluate.levels.score_over_levels`'s result (``metrics.json``'s
    ``levels``): ``levels_dbfs``, ``models`` (``{name: {"esr": [...], "trained_peak_dbfs"}}``)
    and ``training`` (the data set's ``chunk_peak_min_dbfs`` / ``chunk_peak_max_dbfs``, shaded:
    at least 1 dB wide so a single level shows). A model whose own training peak differs from the
    data set's by more than 0.5 dB gets a dashed line there. The NAM grades are drawn as guides.
    """
    xs = np.asarray(levels["levels_dbfs"], float)
    fig = Figure(figsize=(7.5, 4.0), layout="constrained")
    ax = fig.add_subplot()
    tr = levels.get("training") or {}
    if tr:
        lo, hi = float(tr["chunk_peak_min_dbfs"]), float(tr["chunk_peak_max_dbfs"])
        mid, half = (lo + hi) / 2, max((hi - lo) / 2, 0.5)
        ax.axvspan(mid - half, mid + half, color=THESIS, alpha=0.3, lw=0,
                   label="training input's peak levels")
    for i, (name, m) in enumerate(levels["models"].items()):
        ys = np.maximum(np.asarray(m["esr"], float), 1e-16)  # an exact model: ~1e-13
        ax.plot(xs, ys, "o-", color=f"C{i}", ms=4, lw=1.2, label=name)
        peak = m.get("trained_peak_dbfs")
        if peak is not None and tr and abs(peak - float(tr["chunk_peak_max_dbfs"])) > 0.5:
            ax.axvline(peak, color=f"C{i}", ls="--", lw=1)
    for level, label in ((0.01, "ESR 0.01 (great)"), (0.035, "0.035 (not bad)")):
        ax.axhline(level, color="grey", ls=":", lw=1)
        ax.annotate(label, (xs.min(), level), fontsize=7, color="grey", va="bottom")
    ax.set_yscale("log")
    ax.set(xlabel="input peak level (dBFS)", ylabel="ESR on real recordings",
           xlim=(xs.min() - 1, xs.max() + 1))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return finish(fig, title, caption)


def plot_aliasing(entries, *, level_dbfs: float | None = None, floor_db: float = -80.0,
                  target_label: str = "effect", title: str | None = None,
                  caption: str | None = None) -> Figure:
    """Aliasing and the 2nd harmonic against tone frequency, effect against models, per setting.

    One column per entry of :func:`fxlab.evaluate.aliasing.run_aliasing` (a knob setting). Top:
    the aliasing-to-signal ratio (dB) of each tone at ``level_dbfs`` (default the highest
    measured); bottom: the 2nd harmonic relative to the fundamental. The effect is black, the
    models in ``tab10`` colours; the dotted line is ``floor_db`` (inaudible below).
    """
    if not entries:
        raise ParameterError(problem("entries", found="none", expected="run_aliasing's list (one per setting)",
                                     fix="call fxlab.evaluate.aliasing.run_aliasing(run_dir) on a conditioned run"))
    cmap = matplotlib.colormaps["tab10"]
    fig = Figure(figsize=(max(7.0, 3.6 * len(entries)), 6.0), layout="constrained")
    axes = fig.subplots(2, len(entries), sharex=True, sharey="row", squeeze=False)
    for j, e in enumerate(entries):
        target = e["target"]
        level = float(np.max(target.levels_dbfs)) if level_dbfs is None else float(level_dbfs)
        li = target.level_index(level)
        systems = [(target_label, target, TARGET)]
        systems += [(n, a, cmap(i % 10)) for i, (n, a) in enumerate(e["models"].items())]
        where = ", ".join(f"{k} {v:g}" for k, v in e["setting"].items())
        for row, label in enumerate(("aliasing-to-signal (dB)", "2nd harmonic re fund. (dB)")):
            ax = axes[row, j]
            for name, a, color in systems:
                values = a.asr_db[li] if row == 0 else a.harmonic_db[li, :, 1]
                ax.semilogx(a.tones_hz, np.clip(values, -160.0, None), marker="o", ms=3,
                            lw=1.4 if name == target_label else 1.0, color=color, label=name)
            ax.axhline(floor_db, color="#999999", ls=":", lw=0.8)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=8)
            if j == 0:
                ax.set_ylabel(label, fontsize=9)
            if row == 0:
                ax.set_title(f"{where} ({'seen' if e.get('seen') else 'unseen'}), {level:g} dBFS sines",
                             fontsize=9)
            else:
                ax.set_xlabel("tone (Hz)", fontsize=9)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    return finish(fig, title, caption)
