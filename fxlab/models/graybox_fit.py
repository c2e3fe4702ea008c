"""The gray-box emulator's closed-form start from data, and how far a pair is from linear.

Before gradient descent, :func:`initialise` fits the emulator's delay and EQ
(:mod:`fxlab.models.graybox`) to a training pair: the pair's impulse response deconvolved by
least squares, its spectrum, and a nonlinear least-squares fit of the EQ's weights from a ladder
of starts. For a linear effect that fit is already the answer. :func:`linear_fit_esr` is the same
measurement asked the other way: how much of the pair a linear filter leaves unexplained (what
``fxlab train`` asks before it recommends the linear emulator).

- :func:`initialise`      set a built gray-box's ``theta`` and ``delay`` from a pair
- :func:`linear_fit_esr`  the ESR of the best causal linear filter on a pair
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem
from fxlab.models.graybox import (
    DEPTH_KINDS,
    default_theta,
    eq_coefficients,
    freq_weight,
    layout,
    n_eq_params,
)
from fxlab.util import one_blas_thread

__all__ = ["MAX_FIT_ESR", "initialise", "linear_fit_esr"]


def initialise(model, dry: np.ndarray, wet: np.ndarray, *, log=None) -> dict[str, Any]:
    """Fit the emulator's EQ in closed form from a training pair, before gradient descent.

    The impulse response is deconvolved by least squares (the Wiener solution of length
    :data:`_IR_LEN`, from the signals' auto- and cross-correlations), its spectrum taken on a fine
    grid, and the EQ's weights fitted to it by nonlinear least squares weighted by the input's
    power spectrum (``scipy.optimize.least_squares``; the squared error is what the ESR of the
    time signal counts). Linear emulator: the EQ is the fit. Wiener--Hammerstein: the fit
    (the pair's best linear approximation) goes into the post-EQ; the pre-EQ stays neutral and the
    shaper ``tanh``, for gradient descent to separate. A knob-conditioned pair is fitted over all
    its settings at once (the controller starts at zero).

    Parameters
    ----------
    model : keras.Model
        Built by :func:`build`; its ``theta`` is set in place.
    dry, wet : np.ndarray
        The training input (``[n]`` or ``[n, 1 + K]``: the audio column is used) and target ``[n]``.

    A fit whose spectral ESR exceeds :data:`MAX_FIT_ESR` is not applied (the pair's response is
    one the EQ cannot hold, e.g. a delay), and the neutral start is kept.

    Returns
    -------
    dict
        ``{"fit_esr": ..., "applied": bool}``: the ESR of the fitted EQ's spectrum against the
        measured one, and whether the fit was used.
    """
    layer = model.get_layer("graybox")
    cfg = layer.cfg
    x = np.asarray(dry, np.float64)
    x = x[:, 0] if x.ndim == 2 else x
    y = np.asarray(wet, np.float64).reshape(-1)
    h, weight, grid = _measured_response(x, y)
    theta = default_theta(cfg).astype(np.float64)
    s = int(cfg["sections"])
    e = n_eq_params(s)
    eq0 = theta[:e]
    peak = int(np.argmax(np.abs(np.fft.irfft(h))[:_MAX_DELAY + 1]))
    # the delay that fits best, judged by the first stage (a longer delay must halve the misfit
    # to be taken); the second stage refines that delay's fit only
    first, err1, delay = None, np.inf, 0
    with one_blas_thread():  # many small solves
        for d in sorted({0, *range(max(0, peak - 3), peak + 1)}):
            f, r = _fit_first_stage(eq0, s, h * np.exp(1j * grid * d), weight, grid)
            if r < 0.5 * err1:
                first, err1, delay = f, r, d
        fitted, err = _refine(first, err1, s, h * np.exp(1j * grid * delay), weight, grid)
    if err > MAX_FIT_ESR:  # no better than silence: the EQ cannot hold this pair (a delay, say)
        if log is not None:
            log(f"graybox: no EQ fits the pair's linear response (spectral ESR {err:.2g}); "
                "starting from the neutral emulator")
        return {"fit_esr": float(err), "applied": False}
    if int(cfg["shaper"]) == 0:
        theta[:e] = fitted
    else:
        theta[-e:] = fitted
    layer.theta.assign(theta.astype(np.float32))
    layer.delay.assign(float(delay))
    if log is not None:
        log(f"graybox: EQ fitted in closed form to the measured response (spectral ESR {err:.2e}"
            f"{f', behind a delay of {delay} samples' if delay else ''})")
    return {"fit_esr": float(err), "applied": True, "delay": int(delay)}


#: A closed-form fit worse than this (spectral ESR) is not applied: the neutral start is better.
#: Measured: the drive (its 4x oversampling filters delay the signal 3-4 samples, which no EQ
#: of this layout holds) fitted to ESR 1.0 with its output gain at -278 dB.
MAX_FIT_ESR = 0.5
#: The longest input delay the fit considers (the pair's response peaks at most this late).
_MAX_DELAY = 64
#: Length of the deconvolved impulse response, samples.
_IR_LEN = 4096
#: The fit's first stage uses every so many frequencies of the grid (see _fit_first_stage).
_COARSE = 4
#: Samples of the training pair used for the fit (the first so many).
_FIT_SAMPLES = 1 << 20


def _measured_response(x: np.ndarray, y: np.ndarray):
    """``(H [F], weight [F], omega [F])``: the pair's linear response on an FFT grid and the input's
    power there (normalised to sum 1), from the least-squares impulse response."""
    import scipy.signal

    x, y = x[:_FIT_SAMPLES], y[:_FIT_SAMPLES]
    h = _impulse_response(x, y)
    grid_n = _IR_LEN
    hf = np.fft.rfft(h, grid_n)  # irfft(hf) gives h back: the fit reads the delay from it
    _, pxx = scipy.signal.welch(x, nperseg=grid_n, window="hann")
    pxx[0] = pxx[-1] = 0.0  # DC and Nyquist: no audio lives there, and a 1st-order low-pass
    weight = pxx / pxx.sum()  # at its top frequency is a wire everywhere but exactly at Nyquist
    omega = 2.0 * np.pi * np.arange(hf.size) / grid_n
    return hf, weight, omega


def _impulse_response(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The least-squares causal impulse response of :data:`_IR_LEN` taps from ``x`` to ``y``
    (the Wiener solution, from the auto- and cross-correlations)."""
    import scipy.linalg

    n = x.size
    nfft = 1 << int(math.ceil(math.log2(2 * n)))
    xf, yf = np.fft.rfft(x, nfft), np.fft.rfft(y, nfft)
    rxx = np.fft.irfft(np.abs(xf) ** 2, nfft)[:_IR_LEN]
    rxy = np.fft.irfft(np.conj(xf) * yf, nfft)[:_IR_LEN]
    if not np.isfinite(rxx).all() or rxx[0] <= 0:
        raise ParameterError(problem("graybox training input", found="silence or non-finite samples",
                                     expected="a signal with energy", fix="check the dry recording"))
    rxx = rxx.copy()
    rxx[0] *= 1.0 + 1e-9  # a whisper of regularisation for band-limited input
    return scipy.linalg.solve_toeplitz(rxx, rxy)


def _response_np(theta_eq: np.ndarray, sections: int, omega: np.ndarray) -> np.ndarray:
    """The EQ's complex response at ``omega`` (rad/sample), numpy."""
    secs, gain = eq_coefficients(theta_eq, sections)
    z1, z2 = np.exp(-1j * omega), np.exp(-2j * omega)
    h = np.full(omega.shape, gain, np.complex128)
    for d0, d1, d2, a1, a2 in secs:
        h *= 1.0 + (d0 + d1 * z1 + d2 * z2) / (1.0 + a1 * z1 + a2 * z2)
    return h


def _fit_first_stage(eq0: np.ndarray, sections: int, h: np.ndarray, weight: np.ndarray,
                     omega: np.ndarray):
    """The fit's first stage: ``(weights, spectral ESR)`` of the 1st-order sections and the output
    gain alone (the shelves and peaks held at 0 dB), from a ladder of starting frequencies, the
    best start kept (a later start must halve the misfit to be kept, so that a high-pass is read as
    a high-pass, not as an equivalent pair). :func:`_refine` is the second stage.

    The ladder fits on every :data:`_COARSE`-th frequency of the grid (the cost is the response's
    evaluation, linear in the grid); the ESR returned is the best start's on the whole grid."""
    import scipy.optimize

    full, _, _, _ = _misfit(sections, h, weight, omega, eq0.size)
    coarse = slice(None, None, _COARSE)
    misfit, scale, lo2, hi2 = _misfit(sections, h[coarse], weight[coarse] / weight[coarse].sum(),
                                      omega[coarse], eq0.size)
    kinds = layout(sections)

    def stage1(v, base, free):
        th = base.copy()
        th[free] = v
        return misfit(th)

    # each start frees the gain and the high-/low-passes it places (frequency, depth; Q for the
    # 2nd-order ones), simplest first
    hps, lps = (2e-3, 1e-2, 4e-2), (0.1, 0.02)
    ladder = ([{}] + [{k: f} for k in ("hp1", "hp2") for f in hps]
              + [{k: f} for k in ("lp1", "lp2") for f in lps]
              + [{h: a, lo: b} for h, lo in (("hp1", "lp1"), ("hp2", "lp2")) for a in hps for b in lps])
    best = None
    for rung in ladder:
        start = eq0.copy()
        free = [3 * sections]
        for kind, f in rung.items():
            j = 3 * kinds.index(kind)
            start[j], start[j + 1] = freq_weight(f), 0.9
            free += [j, j + 1] + ([j + 2] if kind in ("hp2", "lp2") else [])
        start[3 * sections] = math.log10(max(scale, 1e-6))
        free = np.array(sorted(free))
        fit = scipy.optimize.least_squares(stage1, start[free], args=(start, free), method="trf",
                                           bounds=(lo2[free], hi2[free]), max_nfev=100)
        if best is None or fit.cost < 0.5 * best[1]:
            best = (start.copy(), fit.cost)
            best[0][free] = fit.x
        if 2.0 * best[1] < 1e-9:
            break
    return best[0], float(np.sum(full(best[0]) ** 2))


def _refine(th1: np.ndarray, esr1: float, sections: int, h: np.ndarray, weight: np.ndarray,
            omega: np.ndarray):
    """The fit's second stage, from the first's answer ``th1`` (spectral ESR ``esr1``): every
    weight, with a small penalty on the shelves' and peaks' gains, so that a section with nothing
    to do stays at 0 dB instead of two sections cancelling each other, and a smaller one on the
    distance from the first stage's answer, so that an idle section stays where it was put.
    ``(weights, spectral ESR)``; the first stage's answer if refining does not halve the misfit."""
    import scipy.optimize

    if esr1 < 1e-9:
        return th1, esr1
    misfit, _, lo2, hi2 = _misfit(sections, h, weight, omega, th1.size)
    kinds = layout(sections)
    gains = np.array([3 * i + 1 for i, kind in enumerate(kinds) if kind not in DEPTH_KINDS])
    fit = scipy.optimize.least_squares(
        lambda th: np.concatenate([misfit(th), 1e-3 * th[gains], 1e-4 * (th - th1)]), th1,
        method="trf", bounds=(lo2, hi2), max_nfev=400)
    esr2 = float(np.sum(misfit(fit.x) ** 2))
    return (fit.x, esr2) if esr2 < 0.5 * esr1 else (th1, esr1)


def _misfit(sections: int, h: np.ndarray, weight: np.ndarray, omega: np.ndarray, n: int):
    """``(misfit(theta) -> residuals, scale, lower, upper)``: the weighted, normalised residuals of
    the EQ's response against ``h`` (their squared sum is the spectral ESR), and the bounds of the
    ``n`` weights (the depths of the high-/low-passes in [0, 1], the rest free)."""
    sw = np.sqrt(weight)
    scale = float(np.sqrt(np.sum(weight * np.abs(h) ** 2))) or 1.0
    lo2, hi2 = np.full(n, -np.inf), np.full(n, np.inf)
    for i, kind in enumerate(layout(sections)):
        if kind in DEPTH_KINDS:
            lo2[3 * i + 1], hi2[3 * i + 1] = 0.0, 1.0

    def misfit(th):
        d = (_response_np(th, sections, omega) - h) * sw / scale
        return np.concatenate([d.real, d.imag])

    return misfit, scale, lo2, hi2


def linear_fit_esr(dry: np.ndarray, wet: np.ndarray) -> float:
    """How far a pair is from linear: the ESR of the best causal linear response (the
    least-squares impulse response of :data:`_IR_LEN` taps, as :func:`initialise` measures it)
    predicting ``wet`` from ``dry``. About 0 for an EQ (float rounding, noise); 1e-3 and more
    for an effect that distorts or a noisy recording."""
    x = np.asarray(dry, np.float64)
    x = (x[:, 0] if x.ndim == 2 else x)[:_FIT_SAMPLES]
    y = np.asarray(wet, np.float64).reshape(-1)[:_FIT_SAMPLES]
    h = _impulse_response(x, y)
    nfft = 1 << int(math.ceil(math.log2(x.size + h.size)))
    pred = np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(h, nfft), nfft)[:x.size]
    energy = float(np.sum(y ** 2))
    return float(np.sum((y - pred) ** 2) / energy) if energy > 0 else float("nan")
