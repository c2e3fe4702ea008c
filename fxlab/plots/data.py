"""Figures of the data step (step 01, notebook ``01_synthesize_data``).

- :func:`plot_signal_overview`  one signal kind: waveform, spectrum dry vs wet (Welch),
                                spectrograms (librosa)
- :func:`plot_effect_response`  an EQ's magnitude response, dB against log frequency, -3 dB marked
- :func:`plot_split_overview`   a whole split over time with its chunks (and knob settings) labelled
- :func:`plot_knob_settings`    a conditioned data set's settings: one period of a sine through the
                                effect at each, trained on (solid) or held out (dashed)

Each returns a matplotlib Figure. Frequencies are in Hz on log axes from 20 Hz to 20 kHz; levels in dB.
The step's HTML (the knob grid as a table, audio players) is :mod:`fxlab.data_html`.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from fxlab.plots.common import hz_axis, spectrum_db

__all__ = ["plot_effect_response", "plot_knob_settings", "plot_signal_overview",
           "plot_split_overview"]


def plot_signal_overview(dry: np.ndarray, wet: np.ndarray, *, sr: int, title: str) -> Figure:
    """Waveform (dry and wet), power spectrum dry vs wet, and both spectrograms of one excerpt.

    Parameters
    ----------
    dry, wet : np.ndarray [shape=(n,)]
        Input and target excerpts of one signal kind.
    sr : int > 0
        Sample rate in Hz.
    title : str
        Figure title (the signal kind).
    """
    fig = Figure(figsize=(11, 5.2), layout="constrained")
    gs = fig.add_gridspec(2, 2)
    t = np.arange(dry.size) / sr
    ax = fig.add_subplot(gs[0, 0])
    ax.plot(t, dry, lw=0.5, label="dry (input)")
    ax.plot(t, wet, lw=0.5, alpha=0.8, label="wet (target)")
    ax.set(xlabel="time (s)", ylabel="amplitude", title="waveform")
    ax.legend(loc="upper right", fontsize=8)
    ax = fig.add_subplot(gs[0, 1])
    for sig, label in ((dry, "dry"), (wet, "wet")):
        f, db = spectrum_db(sig, sr=sr)
        ax.plot(f, db, lw=0.8, label=label)
    hz_axis(ax)
    ax.set(ylabel="power (dB)", title="spectrum (Welch)")
    ax.legend(fontsize=8)
    import librosa
    import librosa.display

    nfft = 1024 if dry.size >= 1024 else max(64, 2 ** int(np.log2(dry.size)))
    window = librosa.filters.get_window("hann", nfft)
    for col, (sig, label) in enumerate(((dry, "dry"), (wet, "wet"))):
        ax = fig.add_subplot(gs[1, col])
        mag = np.abs(librosa.stft(sig.astype(np.float64), n_fft=nfft, hop_length=nfft // 2,
                                  window=window))
        db = librosa.amplitude_to_db(mag * 2.0 / window.sum(), ref=1.0, amin=1e-10, top_db=None)
        mesh = librosa.display.specshow(db, sr=sr, hop_length=nfft // 2, n_fft=nfft,
                                        x_axis="time", y_axis="log", ax=ax, cmap="magma",
                                        vmin=-100, vmax=0)
        mesh.set_rasterized(True)
        hz_axis(ax, f_hi=min(20000.0, sr / 2), which="y")
        ax.set(xlabel="time (s)", title=f"spectrogram, {label} (dB re full scale)")
        fig.colorbar(mesh, ax=ax, format="%+2.0f dB")
    fig.suptitle(title)
    return fig


def plot_effect_response(effect, *, sr: int, cutoff_hz: float | None = None) -> Figure:
    """Magnitude response of an EQ effect in dB against log frequency, with -3 dB at the cutoff.

    ``effect`` must offer ``magnitude_response_db(freqs_hz, sr=...)`` (the EQ filters do).
    """
    f = np.geomspace(10, sr / 2 * 0.999, 2000)
    db = effect.magnitude_response_db(f, sr=sr)
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(f, db, lw=1.5, label=effect.describe())
    ax.axhline(-3.0, color="grey", ls=":", lw=1, label="−3 dB")
    if cutoff_hz:
        ax.axvline(cutoff_hz, color="C3", ls="--", lw=1, label=f"cutoff {cutoff_hz:g} Hz")
        at = effect.magnitude_response_db(np.array([cutoff_hz]), sr=sr)[0]
        ax.plot([cutoff_hz], [at], "o", color="C3")
        ax.annotate(f"{at:.2f} dB at {cutoff_hz:g} Hz", (cutoff_hz, at), textcoords="offset points",
                    xytext=(8, -14), fontsize=9)
    hz_axis(ax, f_lo=10, f_hi=sr / 2)
    ax.set_ylim(max(-60, float(db.min()) - 3), max(6, float(db.max()) + 3))
    ax.set(ylabel="magnitude (dB)", title="target effect: magnitude response")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_split_overview(split, *, title: str | None = None, max_points: int = 200_000) -> Figure:
    """The whole of a split's dry signal over time, each chunk labelled with its kind and envelope.

    ``split`` is a :class:`fxlab.datasets.Split`; long splits are decimated for drawing only.
    """
    x = split.dry
    step = max(1, x.size // max_points)
    t = np.arange(0, x.size, step) / split.sr
    fig = Figure(figsize=(11, 2.8), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(t, x[::step], lw=0.3, color="C0")
    for i, c in enumerate(split.chunks):
        t0 = c["start"] / split.sr
        ax.axvline(t0, color="grey", lw=0.4)
        if len(split.chunks) <= 48:
            ax.text(t0 + 0.01, 0.98 - 0.08 * (i % 3), f"{c['kind']}\n{c['envelope']}", fontsize=5.5,
                    va="top", transform=ax.get_xaxis_transform())
    for st in split.settings[1:]:
        ax.axvline(st["start"] / split.sr, color="C3", lw=1.2)
    for st in split.settings:
        ax.text(st["start"] / split.sr + 0.05, 0.02, ", ".join(f"{k}={v:g}" for k, v in st["setting"].items()),
                fontsize=7, color="C3", transform=ax.get_xaxis_transform())
    settings = f" ({len(split.settings)} knob settings in turn)" if split.settings else ""
    ax.set(xlabel="time (s)", ylabel="amplitude", xlim=(0, x.size / split.sr),
           title=title or f"split {split.name}: {split.seconds:.2f} s, {len(split.chunks)} chunks{settings}")
    return fig


def plot_knob_settings(effect, conditioning: dict, *, sr: int, freq_hz: float = 110.0,
                       level_dbfs: float = -6.0) -> Figure:
    """One period of a sine through ``effect`` at every setting of a conditioned data set.

    Parameters
    ----------
    effect : fxlab.effects.Effect
        The effect at its base setting (``Dataset.effect``).
    conditioning : dict
        ``Dataset.conditioning``: ``knobs``, ``train_settings``, ``val_settings``.
    sr : int [Hz]
    freq_hz : float [Hz]
        The sine's frequency; 0.2 s of it is rendered and the last whole period drawn.
    level_dbfs : float [dBFS]
        The sine's peak.
    """
    n = int(0.2 * sr)
    t = np.arange(n) / sr
    x = (10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    period = int(round(sr / freq_hz))
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(np.arange(period) / sr * 1000, x[-period:], color="grey", lw=1, ls=":", label="dry")
    rows = [(st, "trained on", "-") for st in conditioning["train_settings"]] + \
           [(st, "held out", "--") for st in conditioning["val_settings"]]
    rows.sort(key=lambda r: tuple(r[0].values()))
    cmap = colormaps["viridis"]
    for i, (st, role, ls) in enumerate(rows):
        y = effect.with_knobs(**st)(x, sr)
        label = ", ".join(f"{k}={v:g}" for k, v in st.items()) + f" ({role})"
        ax.plot(np.arange(period) / sr * 1000, y[-period:], ls=ls, lw=1.4,
                color=cmap(i / max(len(rows) - 1, 1)), label=label)
    ax.set(xlabel="time (ms)", ylabel="amplitude",
           title=f"{effect.name}: one period of a {freq_hz:g} Hz sine at {level_dbfs:g} dBFS, per setting")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    return fig
