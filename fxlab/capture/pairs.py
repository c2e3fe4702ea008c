"""A user's dry/wet recording pair: read, checked and aligned (:func:`load_pair`).

A user who brings a recording of their own effect gives two files, the dry input and the wet
output. :func:`load_pair` reads both and refuses -- with a message that names the file, what was
found, what was expected and the fix -- anything a network cannot learn from: different sample
rates, stereo, different lengths, NaN/inf samples, silence, clipping, or a time offset between
the two (which it can also measure and correct).

Alignment is causal: :func:`estimate_latency` finds where the effect's response *starts* (its
onset), not where it peaks, so an aligned target never depends on input that comes after it. A
peak of a cross-correlation is a filter's group delay as well as its latency: a low-pass EQ
rendered without latency peaks a sample or more late, and shifting the wet by that peak would ask
the network to predict the future.

Never negative, never silently weak. A causal effect never answers before it is asked: a
measured latency below zero is a finding (the files are swapped, or a DAW's delay compensation
moved the wet recording), refused with the fix, never a shift to apply (applying it would build a
delay into the model). A weakly determined latency (:attr:`LatencyEstimate.weak`: noise hides
the first taps, or the effect distorts and its response starts softly) may be late, and a late
shift asks the model to predict the future: it is not applied; the error says what it would have
shifted and asks for ``latency=N`` (``fxlab train --latency N``) or the reamp signal. A weak
estimate of 0 is taken: not shifting at all never asks a causal model to predict the future (if
the effect does have latency, the model learns it as a delay).
When the dry file is fxlab's reamp signal (:mod:`fxlab.capture.reamp`), the latency comes from
its calibration clicks instead, exactly.

- :func:`estimate_latency` onset of wet's response to dry, samples -> :class:`LatencyEstimate`
- :func:`estimate_offset`  time offset between dry and wet by cross-correlation (GCC-PHAT), samples
- :func:`load_pair`        read and check a dry/wet pair, optionally aligning it -> :class:`AudioPair`
- :class:`AudioPair`       the checked pair (dry, wet, sr, offset_samples, latency, paths, notes)
- :class:`LatencyEstimate` the onset and its evidence (response taps, causal-fit residuals)
- :data:`ALIGN_MODES`, :data:`LATENCY_MARGIN`, :data:`MIN_RELATEDNESS`, :data:`NONLINEAR_RESIDUAL`,
  :data:`SHARP_ONSET`
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fxlab.audio import check_signal, loudest_start, read_wav
from fxlab.capture import reamp
from fxlab.errors import (
    LatencyUncertainError,
    LengthMismatchError,
    MisalignmentError,
    ParameterError,
    SampleRateError,
    UnrelatedPairError,
    problem,
    unknown_name,
)

__all__ = ["ALIGN_MODES", "LATENCY_MARGIN", "MIN_RELATEDNESS", "NONLINEAR_RESIDUAL", "SHARP_ONSET",
           "AudioPair", "LatencyEstimate", "estimate_latency", "estimate_offset", "load_pair"]

LATENCY_MARGIN = 0.01
"""The onset is the latest start of a causal response whose fit to the wet signal is within this
fraction of the best fit's residual (1 %): a later start would leave out a tap that matters."""

MIN_RELATEDNESS = 0.05
"""Below this fraction of the wet signal's energy explained by a causal linear response to the
dry one, a pair is refused as unrelated (:class:`~fxlab.errors.UnrelatedPairError`)."""

NONLINEAR_RESIDUAL = 1e-3
"""A pair whose causal linear fit leaves more than this fraction of the wet signal unexplained
(relatedness below 0.999: an effect that distorts, or a recording noisier than 30 dB SNR) hides
the first taps of a softly starting response under what the fit cannot explain."""

SHARP_ONSET = 5.0
"""On such a pair the onset is trusted only when it is sharp: starting one sample later costs at
least this many times the best fit's residual (a compressor's or a plain waveshaper's first tap
is its largest; a drive's anti-aliasing and tone filters start softly, and there the onset read
from music came out 3-4 samples late, see :attr:`LatencyEstimate.weak`)."""

ALIGN_MODES = ("correct", "check", "off")
""":func:`load_pair` alignment: shift to line up, refuse an offset, or do not look."""

_RESIDUAL_FLOOR = 1e-9  # residual differences below -90 dB of the wet energy are not told apart
_MAX_CORR_SAMPLES = 1 << 21  # estimate_offset looks at most at the first ~47 s at 44.1 kHz


def estimate_offset(dry: np.ndarray, wet: np.ndarray, *, max_lag: int) -> int:
    """Time offset of ``wet`` relative to ``dry`` in samples (positive: wet lags dry).

    Uses the generalized cross-correlation with phase transform (GCC-PHAT): the cross-spectrum
    ``conj(D) W`` is divided by its magnitude before the inverse FFT, so every frequency counts
    equally and only phase is compared. A plain cross-correlation is dominated by the loudest
    band, and an effect that changes that band (a 440 Hz high-pass on bass-heavy material, whose
    phase leads by up to 90 degrees below the cutoff) moves or splits its peak; with PHAT the many
    frequencies the effect leaves nearly untouched pin the peak at the true lag. (Measured on a
    speech-like signal through the study's high-pass, delayed by 37 samples: a plain
    cross-correlation answers 32, GCC-PHAT 37; on brown noise 36 vs 37.) Bins with no energy in
    either signal (below 1e-9 of the strongest) are ignored.

    Parameters
    ----------
    dry, wet : np.ndarray [shape=(n,) and (m,)]
        Mono signals at the same sample rate; the lengths may differ. Only the first
        2**21 samples (~47 s at 44.1 kHz) of each are used.
    max_lag : int >= 0
        Largest offset searched, samples, in both directions.

    Returns
    -------
    offset : int in [-max_lag, max_lag]
        ``wet[t + offset]`` lines up with ``dry[t]``.
    """
    return _offset_search(dry, wet, max_lag)[0]


def _offset_search(dry: np.ndarray, wet: np.ndarray, max_lag: int) -> tuple[int, int, float, float]:
    """GCC-PHAT search: (best lag within +-max_lag, best lag anywhere, peak-to-spread ratio of
    the in-range peak, global peak / in-range peak)."""
    if isinstance(max_lag, bool) or not isinstance(max_lag, numbers.Integral) or max_lag < 0:
        raise ParameterError(problem(
            f"max_lag={max_lag!r}", found=repr(max_lag), expected="an int >= 0 (samples)",
            fix="pass e.g. max_lag=int(0.5 * sr) for half a second",
        ))
    d = np.asarray(dry, dtype=np.float64).reshape(-1)[:_MAX_CORR_SAMPLES]
    w = np.asarray(wet, dtype=np.float64).reshape(-1)[:_MAX_CORR_SAMPLES]
    if d.size == 0 or w.size == 0:
        raise ParameterError(problem(
            "estimate_offset", found=f"signals of {d.size} and {w.size} samples",
            expected="two non-empty signals", fix="pass the dry and the wet signal",
        ))
    max_lag = int(min(max_lag, max(d.size, w.size) - 1))
    n_fft = 1 << int(math.ceil(math.log2(d.size + w.size)))
    cross = np.conj(np.fft.rfft(d, n_fft)) * np.fft.rfft(w, n_fft)
    mag = np.abs(cross)
    floor = 1e-9 * float(mag.max()) if mag.size and mag.max() > 0 else 1.0
    weighted = np.where(mag > floor, cross / np.maximum(mag, floor), 0.0)
    corr = np.fft.irfft(weighted, n_fft)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = corr[lags % n_fft]
    best = int(np.argmax(values))
    anywhere = int(np.argmax(corr))
    anywhere_lag = anywhere if anywhere < n_fft // 2 else anywhere - n_fft
    spread = float(np.std(corr)) or 1.0
    peak = float(values[best])
    ratio = float(corr[anywhere]) / peak if peak > 0 else float("inf")
    return int(lags[best]), anywhere_lag, peak / spread, ratio


@dataclass
class LatencyEstimate:
    """The onset of wet's response to dry, and the evidence for it.

    Attributes
    ----------
    samples : int
        Latency: ``wet[t + samples]`` is the first output sample that responds to ``dry[t]``
        (negative: the wet recording leads the dry one).
    peak_lag : int
        Lag of the largest tap of the estimated impulse response, samples (the onset is at or
        before it: a causal response cannot peak before it starts).
    relatedness : float in [0, 1]
        Fraction of the wet signal's energy that a causal linear response (``taps`` long,
        starting at the onset) to the dry signal explains, over the fitted excerpt of the signals
        as they are (not whitened: whitening would lift the recording's noise): ~1 for an EQ,
        lower for a drive, ~0 for an unrelated pair.
    margin : float
        :data:`LATENCY_MARGIN` as used.
    candidates : np.ndarray [shape=(k,), dtype=int64]
        Start lags tried for the causal fit, samples.
    residuals : np.ndarray [shape=(k,)]
        Each start's fit residual as a fraction of the wet excerpt's energy.
    response_lags : np.ndarray [shape=(m,), dtype=int64]
        Lags of ``response``, samples, around the onset.
    response : np.ndarray [shape=(m,)]
        The estimated impulse response (whitened, regularised deconvolution of wet by dry).
    fit_samples : int
        Length of the excerpt the causal fit used, samples.
    evidence : float
        How much worse the next later start fits, relative to the best fit: large on a clean pair (a tap that
        matters starts there), below ~10 x ``margin`` when noise or a very predictable dry signal
        hides the first taps.
    """

    samples: int
    peak_lag: int
    relatedness: float
    margin: float
    candidates: np.ndarray
    residuals: np.ndarray
    response_lags: np.ndarray
    response: np.ndarray
    fit_samples: int
    evidence: float = math.inf

    @property
    def weak(self) -> bool:
        """True when the onset is weakly determined and may be a few samples late: the first
        taps are buried in noise (``evidence < 10 * margin``), or the pair is not linear
        (``1 - relatedness > NONLINEAR_RESIDUAL``) and the onset is not sharp (``evidence <
        SHARP_ONSET``). Measured on 75 s of instrument recordings through fxlab's drive at gains
        10-40 dB, latency 0: oversampled (elliptic anti-aliasing filters, first taps at -130
        and -65 dB of the peak) the onset read 3-4 samples late with evidence 0.04-0.9; a
        compressor read exactly with evidence 10.7."""
        if self.evidence < 10.0 * self.margin:
            return True
        return 1.0 - self.relatedness > NONLINEAR_RESIDUAL and self.evidence < SHARP_ONSET

    @property
    def why_weak(self) -> str:
        """Why :attr:`weak`, in words (empty when it is not)."""
        if not self.weak:
            return ""
        reasons = []
        if 1.0 - self.relatedness > NONLINEAR_RESIDUAL:
            reasons.append("the effect is not linear or the recording is noisy (a causal linear "
                           f"response explains {100 * self.relatedness:.1f} % of the wet signal), "
                           "so the first taps of a softly starting response (a drive's "
                           "anti-aliasing or tone filter) can hide under what the fit cannot "
                           "explain")
        else:
            reasons.append("noise or a very predictable dry signal hides the first taps")
        bar = (f"a sharp onset costs at least {100 * SHARP_ONSET:.0f} %"
               if 1.0 - self.relatedness > NONLINEAR_RESIDUAL
               else f"a clear one at least {1000 * self.margin:.0f} %")
        reasons.append(f"starting one sample later costs {100 * self.evidence:.1f} % of the "
                       f"best fit's residual ({bar})")
        return "; ".join(reasons)

    def to_dict(self) -> dict:
        """JSON-able: the numbers, the residual per candidate and the response taps."""
        return {"latency_samples": int(self.samples), "peak_lag_samples": int(self.peak_lag),
                "relatedness": float(self.relatedness), "margin": float(self.margin),
                "fit_samples": int(self.fit_samples), "evidence": float(self.evidence),
                "weak": bool(self.weak),
                "candidates": [int(c) for c in self.candidates],
                "residuals": [float(r) for r in self.residuals],
                "response_lags": [int(k) for k in self.response_lags],
                "response": [float(v) for v in self.response]}


def _whiten(d: np.ndarray, w: np.ndarray, order: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Both signals filtered by d's linear-prediction error filter (order ``order``): the dry
    signal's spectrum becomes nearly flat, whatever its colour; the effect, linear and
    time-invariant or not, keeps its latency (the filter is causal and applied to both)."""
    import scipy.linalg
    import scipy.signal

    n = d[:_MAX_CORR_SAMPLES]
    n_fft = 1 << int(math.ceil(math.log2(2 * n.size)))
    ac = np.fft.irfft(np.abs(np.fft.rfft(n, n_fft)) ** 2, n_fft)[: order + 1]
    ac[0] *= 1.0 + 1e-9
    a = scipy.linalg.solve_toeplitz(ac[:order], ac[1:order + 1])
    inverse = np.concatenate([[1.0], -a])
    return scipy.signal.lfilter(inverse, [1.0], d), scipy.signal.lfilter(inverse, [1.0], w)


def _response(e: np.ndarray, we: np.ndarray, reg: float = 1e-2) -> tuple[np.ndarray, int]:
    """Impulse response of ``we`` against ``e`` by regularised deconvolution (bins where ``e``
    is weaker than ``reg`` x its mean power count little, so noise there does not move the peak).
    Returns (taps, n_fft); lag k is at index k mod n_fft."""
    e, we = e[:_MAX_CORR_SAMPLES], we[:_MAX_CORR_SAMPLES]
    n_fft = 1 << int(math.ceil(math.log2(e.size + we.size)))
    spec_e = np.fft.rfft(e, n_fft)
    power = np.abs(spec_e) ** 2
    h = np.fft.irfft(np.conj(spec_e) * np.fft.rfft(we, n_fft) / (power + reg * power.mean()), n_fft)
    return h, n_fft


def _one_blas_thread():
    """Small dense solves run ~8x faster on one BLAS thread than on a busy machine's many."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a declared dependency; kept optional for old installs
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _causal_fit(d: np.ndarray, w: np.ndarray, lo: int, hi: int, taps: int,
                fit_samples: int) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Least-squares fit of w[t] by sum_{j<taps} h_j d[t - l - j] for each start l in [lo, hi];
    returns (starts, residual energies, wet energy, samples used)."""
    span = hi - lo + taps
    t_lo = max(0, lo + 2 * span)
    t_hi = min(w.size, d.size + lo)
    if t_hi - t_lo < 4 * span:
        raise ParameterError(problem(
            "estimate_latency", found=f"{max(t_hi - t_lo, 0)} samples usable for the causal fit",
            expected=f"at least {4 * span} samples", fix="use a longer recording"))
    n = min(fit_samples, t_hi - t_lo)
    t0 = t_lo + loudest_start(d[t_lo - lo:t_hi - lo], n, hop=max(n // 8, 1))
    # rows u = t - lo in [a, b): X[u, j] = d[u - j]; the Gram matrix of a sliding window is its
    # first row plus running sums along each diagonal (exact, O(span * (n + span)))
    a, b = t0 - lo, t0 - lo + n
    y = w[t0:t0 + n]
    first = np.correlate(d[a - span + 1:b], d[a:b], "valid")[::-1]
    cross = np.correlate(d[a - span + 1:b], y, "valid")[::-1]
    energy = float(y @ y)
    va, vb = d[a - 2 * span + 1:a][::-1], d[b - 2 * span + 1:b][::-1]  # va[m] = d[a-1-m]
    sa = np.lib.stride_tricks.sliding_window_view(va, span)[:span]
    sb = np.lib.stride_tricks.sliding_window_view(vb, span)[:span]
    runs = np.cumsum(va[:span, None] * sa - vb[:span, None] * sb, axis=0)
    gram = np.empty((span, span))
    for i in range(span):
        row = first[:span - i] + (runs[i - 1, :span - i] if i else 0.0)
        gram[i, i:] = row
        gram[i:, i] = row
    ridge = 1e-10 * float(np.trace(gram)) / span
    starts = np.arange(lo, hi + 1)
    q = starts - lo
    idx = q[:, None] + np.arange(taps)
    grams = gram[idx[:, :, None], idx[:, None, :]] + ridge * np.eye(taps)
    rhs = cross[idx]
    sol = np.linalg.solve(grams, rhs[..., None])[..., 0]
    resid = np.maximum(energy - np.einsum("ij,ij->i", rhs, sol), 0.0)
    return starts, resid, energy, n


def _check_latency_settings(*, max_lag, search, taps, fit_samples, margin) -> None:
    """Refuse :func:`estimate_latency` settings that are not whole numbers of samples in range,
    or a margin that is not a positive fraction."""
    for name, v, lo in (("max_lag", max_lag, 0), ("search", search, 1), ("taps", taps, 8),
                        ("fit_samples", fit_samples, 64)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
            raise ParameterError(problem(f"{name}={v!r}", found=repr(v),
                                         expected=f"an int >= {lo} (samples)",
                                         fix=f"pass {name} as a whole number of samples >= {lo}"))
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not margin > 0:
        raise ParameterError(problem(f"margin={margin!r}", found=repr(margin),
                                     expected="a fraction > 0", fix="use e.g. margin=0.01"))


def _response_peak(d_all: np.ndarray, w_all: np.ndarray, e_all: np.ndarray, we_all: np.ndarray,
                   max_lag: int, search: int) -> tuple[np.ndarray, int, int, int]:
    """The deconvolved response and its peak within +-``max_lag``: ``(h, n_fft, peak lag, last
    onset candidate)``, the candidate being the whitened response's peak when that comes up to
    ``search`` samples later. A response that peaks far outside the range is refused."""
    h, n_fft = _response(d_all, w_all)
    lags = np.arange(-max_lag, max_lag + 1)
    peak_lag = int(lags[int(np.argmax(np.abs(h[lags % n_fft])))])
    hw, n_fft_w = _response(e_all, we_all)  # sharper on clean pairs, but lifts noise
    white_peak = int(lags[int(np.argmax(np.abs(hw[lags % n_fft_w])))])
    hi = white_peak if 0 <= white_peak - peak_lag <= int(search) else peak_lag
    anywhere = int(np.argmax(np.abs(h)))
    anywhere_lag = anywhere if anywhere < n_fft // 2 else anywhere - n_fft
    if abs(anywhere_lag) > max_lag and abs(h[anywhere]) > 2.0 * abs(h[peak_lag % n_fft]):
        raise MisalignmentError(problem(
            "estimate_latency",
            found=f"the response peaks at {anywhere_lag:+d} samples, outside the searched "
                  f"+-{max_lag} samples", expected=f"a latency within +-{max_lag} samples",
            fix="search further (a larger max_offset_s), or trim the start of the later file"))
    return h, n_fft, peak_lag, hi


def _relatedness(d_all: np.ndarray, w_all: np.ndarray, onset: int, taps: int,
                 fit_samples: int) -> float:
    """Share of the wet signal's energy a causal response from ``onset`` explains (on the signals
    as they are: whitening lifts noise); refused below :data:`MIN_RELATEDNESS`."""
    with _one_blas_thread():
        _, raw_resid, raw_energy, _ = _causal_fit(d_all, w_all, onset, onset, taps, fit_samples)
    relatedness = 1.0 - float(raw_resid[0]) / raw_energy if raw_energy > 0 else 0.0
    if relatedness < MIN_RELATEDNESS:
        raise UnrelatedPairError(problem(
            "the wet signal", found=f"a causal linear response to the dry signal explains "
                                    f"{100 * relatedness:.1f} % of its energy",
            expected=f"at least {100 * MIN_RELATEDNESS:.0f} % (an effect's output is largely "
                     "explained by its input, even a drive's)",
            fix="this does not look like the dry signal through an effect: check that the wet "
                "file is the recording of this dry file (same take, same section)"))
    return relatedness


def estimate_latency(dry: np.ndarray, wet: np.ndarray, *, max_lag: int,
                     margin: float = LATENCY_MARGIN, search: int = 64, taps: int = 256,
                     fit_samples: int = 1 << 16) -> LatencyEstimate:
    """Latency of ``wet`` behind ``dry``: where the effect's response starts, never after it.

    Two steps. (1) The impulse response is estimated over +-``max_lag`` by regularised
    deconvolution of wet by dry; its largest tap is the *peak* lag, which for a filter is its
    latency plus part of its group delay. (2) For every start ``l`` from ``peak - search`` to the
    peak (or to the peak of the whitened signals' response when that comes up to ``search``
    later: on tonal material the plain deconvolution can peak a sample early), a causal response
    of ``taps`` taps starting at lag ``l`` is fitted to the wet signal by
    least squares (both signals whitened by the dry signal's linear-prediction error filter,
    order 32, which keeps the fit well conditioned on tonal material; on the loudest
    ``fit_samples`` of the pair). Starting earlier than the true onset costs nothing (the
    extra taps fit zeros); starting one sample late leaves out the first tap, and the residual
    jumps. The onset is the latest start whose residual is within ``margin`` (1 %) of the best
    one's, or within 1e-9 of the wet signal's energy (-90 dB; numerical noise of the fit on a
    very predictable signal): the estimate is late only if the taps it leaves out change the fit
    by less than that. On a noiseless pair that is exact. In a noisy one the first taps can be
    buried and missed, up to the peak (:attr:`LatencyEstimate.weak` says so, and ``load_pair``
    adds a warning). Measured with white noise added to the wet: pink noise through a resonant
    EQ, a drive, a high-pass and a 1 kHz low-pass, latency 0/37/500, exact down to 20 dB SNR
    (the low-pass 1 sample late at 20 dB); 4 s of one guitar chord or of tabla (very
    predictable) at 40 dB SNR: the resonant peak exact, the benchmark's EQ 2-3 samples late, the
    1 kHz low-pass 8 (its peak), all flagged weak; the benchmark's 77 s pairs exact, not weak.
    A system whose response starts softly reads late even without noise: ``drive`` with its
    default 4x oversampling (8th-order elliptic anti-aliasing filters: first taps under 1 % of the
    fit) reads 3 samples late at latency 0, 1, 37 and 500 on pink noise -- the target then sits
    3 samples early. Such an effect wants ``--latency`` given (or ``--align check``).
    Pass the latency yourself (``load_pair(latency=...)``, ``fxlab train --latency``) when you
    know it.

    Parameters
    ----------
    dry, wet : np.ndarray [shape=(n,) and (m,)]
        Mono signals at the same sample rate; lengths may differ. Only the first 2**21 samples
        of each are used for step (1).
    max_lag : int >= 0
        Largest latency searched, samples, both directions.
    margin : float > 0
        Relative residual increase a later start may cost (see above).
    search : int >= 1
        How far before the peak the onset is looked for, samples.
    taps : int >= 8
        Length of the fitted causal response, samples.
    fit_samples : int
        Samples of the pair used for the causal fit (the loudest stretch).

    Returns
    -------
    LatencyEstimate

    Raises
    ------
    fxlab.errors.MisalignmentError
        The response peaks outside +-``max_lag`` (the message says where).
    fxlab.errors.UnrelatedPairError
        No causal response explains at least :data:`MIN_RELATEDNESS` of the wet signal.
    """
    _check_latency_settings(max_lag=max_lag, search=search, taps=taps, fit_samples=fit_samples,
                            margin=margin)
    d_all = np.asarray(dry, dtype=np.float64).reshape(-1)
    w_all = np.asarray(wet, dtype=np.float64).reshape(-1)
    if d_all.size == 0 or w_all.size == 0:
        raise ParameterError(problem(
            "estimate_latency", found=f"signals of {d_all.size} and {w_all.size} samples",
            expected="two non-empty signals", fix="pass the dry and the wet signal"))
    max_lag = int(min(max_lag, max(d_all.size, w_all.size) - 1))
    e_all, we_all = _whiten(d_all, w_all)
    h, n_fft, peak_lag, hi = _response_peak(d_all, w_all, e_all, we_all, max_lag, int(search))
    lo = max(peak_lag - int(search), -max_lag)
    with _one_blas_thread():
        # one start past the last candidate, to see what starting later would cost
        starts, resid, energy, n_fit = _causal_fit(e_all, we_all, lo, hi + 1, int(taps),
                                                   int(fit_samples))
    best = float(resid[:-1].min())
    ok = resid[:-1] <= best * (1.0 + float(margin)) + _RESIDUAL_FLOOR * energy
    last = int(np.flatnonzero(ok)[-1])
    onset = int(starts[last])
    evidence = float(resid[last + 1] / best - 1.0) if best > 0 else math.inf
    starts, resid = starts[:-1], resid[:-1]
    relatedness = _relatedness(d_all, w_all, onset, int(taps), int(fit_samples))
    view = np.arange(onset - 32, onset + 97)
    return LatencyEstimate(onset, peak_lag, float(relatedness), float(margin), starts,
                           resid / energy if energy > 0 else resid, view, h[view % n_fft],
                           int(n_fit), evidence)


@dataclass
class AudioPair:
    """A checked dry/wet recording pair.

    Attributes
    ----------
    dry, wet : np.ndarray [shape=(n,), dtype=float32]
        Same length, mono, finite, not silent, not clipped; aligned when ``load_pair`` aligned
        them.
    sr : int
        Sample rate, Hz.
    offset_samples : int
        Offset of wet relative to dry that was found or given (positive: wet lagged dry),
        samples; 0 when alignment was off.
    dry_path, wet_path : pathlib.Path
    notes : list of str
        What was found and done (levels, offset, trimming), one line each.
    latency : LatencyEstimate or None
        The measured latency and its evidence; ``None`` when alignment was off, the latency
        was given, or it came from the reamp signal's clicks.
    reamp : fxlab.capture.reamp.ReampLayout or None
        The layout when the dry file is fxlab's reamp signal (its training body and two
        validation takes).
    clicks : fxlab.capture.reamp.ClickAlignment or None
        The latency found from the reamp signal's clicks, and the evidence.
    """

    dry: np.ndarray
    wet: np.ndarray
    sr: int
    offset_samples: int
    dry_path: Path
    wet_path: Path
    notes: list[str] = field(default_factory=list)
    latency: LatencyEstimate | None = None
    reamp: reamp.ReampLayout | None = None
    clicks: reamp.ClickAlignment | None = None

    @property
    def n(self) -> int:
        """Length, samples."""
        return int(self.dry.shape[0])

    @property
    def duration_s(self) -> float:
        """Length, seconds."""
        return self.n / self.sr


def load_pair(
    dry_path: str | os.PathLike,
    wet_path: str | os.PathLike,
    *,
    sr: int | None = None,
    align: str = "correct",
    max_offset_s: float = 0.5,
    tolerance: int = 0,
    mono: bool | str | int = True,
    latency: int | None = None,
) -> AudioPair:
    """Read a dry/wet pair and check that a model can learn from it.

    Checks, in order: both files readable (:class:`~fxlab.errors.AudioFileError`), same sample
    rate, equal to ``sr`` when given (:class:`~fxlab.errors.SampleRateError`), mono
    (:class:`~fxlab.errors.ChannelError`), finite (:class:`~fxlab.errors.NonFiniteError`), not
    silent (:class:`~fxlab.errors.SilenceError`), not clipped
    (:class:`~fxlab.errors.ClippingError`), then alignment and length:

    - ``align="correct"``: measure the latency (:func:`estimate_latency`: the onset of the
      response, up to ``max_offset_s``; from the clicks when the dry file is fxlab's reamp
      signal, :func:`fxlab.capture.reamp.align_from_clicks`; or take ``latency`` as given), shift
      the later signal back and trim both to their common length; the offset goes in ``notes``.
      A measured latency below zero raises :class:`~fxlab.errors.MisalignmentError` (a causal
      effect never answers early), a weakly determined one above zero
      :class:`~fxlab.errors.LatencyUncertainError` (it may be late: see the module text). Lengths may differ only by the detected offset (latency recorded as extra
      samples at the start of the later file) or not at all, give or take ``tolerance``.
    - ``align="check"``: measure the offset and raise
      :class:`~fxlab.errors.MisalignmentError` when ``|offset| > tolerance``; lengths must be equal.
    - ``align="off"``: do not look; lengths must be equal.

    Unequal lengths otherwise raise :class:`~fxlab.errors.LengthMismatchError`.

    Parameters
    ----------
    dry_path, wet_path : str or path-like
        The effect's input and its output.
    sr : int > 0 or None
        Required sample rate, Hz, or ``None`` to accept the files' (common) rate.
    align : {"correct", "check", "off"}
    max_offset_s : float >= 0
        Largest offset searched, seconds.
    tolerance : int >= 0
        Offset (and leftover length difference) accepted without complaint, samples.
    mono : True, "mix" or int
        As in :func:`read_wav`; ``True`` refuses stereo files.
    latency : int or None
        The latency when the user knows it, samples (wet lags dry when positive): used instead
        of measuring, with ``align="correct"`` or ``"check"``.

    Returns
    -------
    AudioPair
    """
    _check_arguments(align=align, tolerance=tolerance, max_offset_s=max_offset_s,
                     latency=latency, mono=mono)
    dpath, wpath = Path(dry_path), Path(wet_path)
    dry, wet, rate, notes = _read_pair(dpath, wpath, sr=sr, mono=mono)

    def length_error(extra: str) -> LengthMismatchError:
        return _length_error(dpath, wpath, dry.shape[0], wet.shape[0], rate, align, extra)

    diff = wet.shape[0] - dry.shape[0]
    if align == "off":
        if abs(diff) > tolerance:
            raise length_error("")
        n = min(dry.shape[0], wet.shape[0])
        notes.append("alignment not checked (align=\"off\")")
        return AudioPair(dry[:n], wet[:n], rate, 0, dpath, wpath, notes)

    layout = reamp.recognise(dry, rate, name=str(dpath))
    if layout is not None:
        notes.append(f"{dpath.name} is fxlab's reamp signal ({layout.n / rate:.1f} s): training "
                     "on its body, holding out its first validation take, the second measures "
                     "the noise floor")
    offset, estimate, clicks = _find_offset(dry, wet, rate, dpath, wpath, layout=layout,
                                            align=align, max_offset_s=max_offset_s,
                                            latency=latency, notes=notes)
    if align == "check":
        _check_offset(offset, tolerance, rate, dpath, wpath)
        if abs(diff) > tolerance:
            raise length_error("")
        n = min(dry.shape[0], wet.shape[0])
        notes.append(f"offset {offset:+d} samples, within tolerance {tolerance}")
        return AudioPair(dry[:n], wet[:n], rate, offset, dpath, wpath, notes, estimate, layout,
                         clicks)

    d_al, w_al = _corrected(dry, wet, rate, offset, layout, tolerance=tolerance, notes=notes,
                            length_error=length_error)
    return AudioPair(d_al, w_al, rate, offset, dpath, wpath, notes, estimate, layout, clicks)


def _check_offset(offset: int, tolerance: int, rate: int, dpath: Path, wpath: Path) -> None:
    """``align="check"``: refuse an offset beyond ``tolerance``."""
    if abs(offset) > tolerance:
        raise MisalignmentError(problem(
            f"{wpath} against {dpath}",
            found=f"wet {'lags' if offset > 0 else 'leads'} dry by {abs(offset)} samples "
                  f"({abs(offset) / rate * 1000.0:.2f} ms)",
            expected=f"an offset of at most {tolerance} samples",
            fix="pass align=\"correct\" to shift and trim them automatically, or remove "
                f"{abs(offset)} samples from the start of the "
                f"{'wet' if offset > 0 else 'dry'} file",
        ))


def _corrected(dry: np.ndarray, wet: np.ndarray, rate: int, offset: int, layout, *, tolerance: int,
               notes: list[str], length_error) -> tuple[np.ndarray, np.ndarray]:
    """``align="correct"``: the pair shifted by ``offset`` and trimmed to a common length.
    Accepted lengths are equal or differ by the offset (+- ``tolerance``); a recording of the
    reamp signal may be longer (a DAW's bounce with a tail) or stop in its final silence, as long
    as it holds the whole second validation take. ``length_error(extra)`` makes the refusal."""
    diff = wet.shape[0] - dry.shape[0]
    if layout is not None:
        if wet.shape[0] - max(offset, 0) < layout.takes[1][1]:
            raise length_error(", too short to hold the reamp signal's last validation take")
        wet = wet[:dry.shape[0] + max(offset, 0)]
    elif abs(diff) > tolerance and abs(diff - offset) > tolerance:
        raise length_error(f", not explained by the detected offset of {offset:+d} samples")
    d_al, w_al = _shifted(dry, wet, offset, rate, notes)
    if d_al.shape[0] <= 0:
        raise length_error(", nothing left after aligning")
    return d_al, w_al


def _check_arguments(*, align, tolerance, max_offset_s, latency, mono) -> None:
    """:func:`load_pair`'s argument checks (before any file is read)."""
    if align not in ALIGN_MODES:
        raise unknown_name("align mode", align, ALIGN_MODES)
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Integral) or tolerance < 0:
        raise ParameterError(problem(
            f"tolerance={tolerance!r}", found=repr(tolerance), expected="an int >= 0 (samples)",
            fix="pass e.g. tolerance=0 (exact) or tolerance=2",
        ))
    if isinstance(max_offset_s, bool) or not isinstance(max_offset_s, numbers.Real) \
            or not math.isfinite(float(max_offset_s)) or max_offset_s < 0:
        raise ParameterError(problem(
            f"max_offset_s={max_offset_s!r}", found=repr(max_offset_s),
            expected="a number of seconds >= 0", fix="pass e.g. max_offset_s=0.5",
        ))
    if latency is not None and (isinstance(latency, bool)
                                or not isinstance(latency, numbers.Integral)):
        raise ParameterError(problem(
            f"latency={latency!r}", found=repr(latency), expected="a whole number of samples",
            fix="pass e.g. latency=37 (wet lags dry by 37 samples) or None to measure it"))
    if latency is not None and align == "off":
        raise ParameterError(problem(
            f"latency={latency} with align=\"off\"", found="a latency to apply, alignment off",
            expected="align=\"correct\" (shift by it) or \"check\" (refuse it when too large)",
            fix="drop align=\"off\", or drop the latency"))
    if mono is False:
        raise ParameterError(problem(
            "mono=False", found="mono=False", expected='True, "mix" or a channel index',
            fix="load_pair needs mono signals: pass mono=True, \"mix\" or 0",
        ))


def _read_pair(dpath: Path, wpath: Path, *, sr, mono) -> tuple[np.ndarray, np.ndarray, int, list[str]]:
    """Both files read and checked (same rate, finite, not silent, not clipped): (dry, wet,
    rate, notes)."""
    dry, dry_sr = read_wav(dpath, sr=sr, mono=mono)
    wet, wet_sr = read_wav(wpath, sr=sr, mono=mono)
    if dry_sr != wet_sr:
        raise SampleRateError(problem(
            f"{dpath} and {wpath}", found=f"{dry_sr} Hz (dry) and {wet_sr} Hz (wet)",
            expected="the same sample rate for both files",
            fix=f"resample one with fxlab.audio.resample(x, {wet_sr}, {dry_sr}) (or re-export "
                "it at the other's rate)",
        ))
    notes: list[str] = []
    for path, x in ((dpath, dry), (wpath, wet)):
        level = check_signal(x, name=str(path), sr=dry_sr)
        notes.append(f"{path.name}: {x.shape[0]} samples ({x.shape[0] / dry_sr:.3f} s) at "
                     f"{dry_sr} Hz, peak {level:.1f} dBFS")
    return dry, wet, dry_sr, notes


def _length_error(dpath: Path, wpath: Path, n_dry: int, n_wet: int, rate: int, align: str,
                  extra: str) -> LengthMismatchError:
    diff = n_wet - n_dry
    return LengthMismatchError(problem(
        f"{dpath} and {wpath}",
        found=f"{n_dry} samples (dry) and {n_wet} samples (wet), a difference "
              f"of {diff:+d} samples ({diff / rate * 1000:+.1f} ms){extra}",
        expected="the same length" + (", or a difference equal to the offset between them"
                                      if align == "correct" else ""),
        fix="render/record both over the same span (same start and end), or trim the longer "
            "one; load_pair(..., align=\"correct\") also accepts wet with latency samples "
            "prepended",
    ))


def _find_offset(dry, wet, rate: int, dpath: Path, wpath: Path, *, layout, align: str,
                 max_offset_s: float, latency: int | None, notes: list[str]):
    """The offset to remove: given, from the reamp signal's clicks, or measured (refused when
    it is not safe to apply); appends what was found to ``notes``. Returns (offset, estimate,
    clicks)."""
    max_lag = int(round(float(max_offset_s) * rate))
    if latency is not None:
        notes.append(f"latency given: {int(latency):+d} samples (not measured)")
        return int(latency), None, None
    if layout is not None:
        clicks = reamp.align_from_clicks(wet, layout, max_lag=max_lag, name=str(wpath))
        notes.append(f"latency {clicks.samples:+d} samples from the reamp signal's "
                     f"{len(clicks.per_click)} clicks (each answered at "
                     f"{', '.join(f'{v:+d}' for v in clicks.per_click)}; "
                     + ("background digital silence: exact)" if clicks.clean else
                        f"noisy background: {clicks.margin} sample taken off for safety)"))
        return clicks.samples, None, clicks
    try:
        estimate = estimate_latency(dry, wet, max_lag=max_lag)
    except (MisalignmentError, ParameterError) as e:
        what = str(e).split(": ", 1)[-1]
        raise type(e)(f"{dpath} and {wpath}: {what}") from None
    notes.append(f"latency {estimate.samples:+d} samples from the onset of the response (peak "
                 f"at {estimate.peak_lag:+d}); a causal response explains "
                 f"{100 * estimate.relatedness:.1f} % of the wet signal")
    if align == "correct":
        _refuse_unsafe(estimate, dpath, wpath, rate)
    if estimate.weak and align == "check":
        notes.append(f"warning: the onset is weakly determined ({estimate.why_weak}): the "
                     "latency may be a few samples late")
    elif estimate.weak:  # and 0: _refuse_unsafe let nothing else through
        notes.append(f"the onset is weakly determined ({estimate.why_weak}); 0 taken: a "
                     "causal effect cannot answer before its input, so no shift at all never "
                     "asks the model to predict the future. If the effect has latency, the "
                     "model learns it as a delay (pass --latency N if you know it)")
    return estimate.samples, estimate, None


def _shifted(dry: np.ndarray, wet: np.ndarray, offset: int, rate: int,
             notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The later signal's first ``|offset|`` samples dropped, both trimmed to their common
    length (contiguous); what was done appended to ``notes``."""
    d_al, w_al = (dry, wet[offset:]) if offset >= 0 else (dry[-offset:], wet)
    n = max(min(d_al.shape[0], w_al.shape[0]), 0)
    if offset == 0:
        notes.append("aligned: no offset between dry and wet")
    else:
        later, earlier = ("wet", "dry") if offset > 0 else ("dry", "wet")
        notes.append(f"aligned: {later} lagged {earlier} by {abs(offset)} samples "
                     f"({abs(offset) / rate * 1000.0:.2f} ms); dropped its first {abs(offset)} samples")
    trimmed = max(d_al.shape[0], w_al.shape[0]) - n
    if trimmed and n:
        notes.append(f"trimmed {trimmed} samples from the end of the longer signal; "
                     f"{n} samples ({n / rate:.3f} s) remain")
    return np.ascontiguousarray(d_al[:n]), np.ascontiguousarray(w_al[:n])


def _refuse_unsafe(estimate: LatencyEstimate, dpath: Path, wpath: Path, rate: int) -> None:
    """Raise when a measured latency is below zero, or weak and above zero (see the module
    text): neither is a shift to apply."""
    offset = estimate.samples
    ms = 1000.0 * abs(offset) / rate
    ask = ("pass the latency if you know it (fxlab train --latency N; 0 for a plugin or pedal "
           "that reports none), or record the effect with fxlab's reamp signal (`fxlab "
           "reamp-signal dry.wav`, play it through the effect, train on that pair: its clicks "
           "give the latency exactly)")
    if offset < 0:
        why = (f" (weakly determined: {estimate.why_weak}; the best linear fit of a distorting "
               "effect can reach into the future)" if estimate.weak else "")
        raise MisalignmentError(problem(
            f"{wpath} against {dpath}",
            found=f"the wet signal answers {-offset} samples ({ms:.2f} ms) before the dry one"
                  + why,
            expected="a latency of 0 or more (a causal effect never answers before its input; "
                     "applying this would build a delay into the model)",
            fix="check that --dry and --wet are not swapped, and turn off the DAW's delay "
                "compensation for the recording; " + ask
                + f"; if the wet truly was moved {-offset} samples early, pass --latency {offset}"))
    if offset > 0 and estimate.weak:
        raise LatencyUncertainError(problem(
            f"{wpath} against {dpath}",
            found=f"a latency of {offset:+d} samples ({ms:.2f} ms; response peak at "
                  f"{estimate.peak_lag:+d}), weakly determined: {estimate.why_weak}; it may be "
                  f"late, and shifting by {offset} samples would ask the model to predict the future",
            expected="a latency measured with confidence", fix=ask))
