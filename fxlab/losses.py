"""Training losses, written with ``keras.ops`` (so they run on the TensorFlow and JAX backends).

Every loss takes ``y_true, y_pred`` of shape ``[B, T, 1]`` (sample-level models: B segments of T
samples) or ``[B, 1]`` (windowed models: B output samples, treated as one sequence of B samples)
and returns a scalar. Ratios are taken over the whole batch (as CoreAudioML does), not averaged
per segment, so quiet segments do not dominate.

- :func:`mse`               mean squared error (the thesis's loss)
- :func:`esr`               error-to-signal ratio ``sum (y - p)^2 / sum y^2``
- :func:`esr_segment`       ESR of each segment, averaged over the batch (``esr_seg``): every segment
  counts alike whatever its level -- for data rendered at several knob settings, whose outputs
  differ in level (a drive at 0 dB of gain is ~18 dB quieter than at 40 dB)
- :func:`esr_pre_emphasis`  ESR of both signals after ``1 - coef z^-1`` (Wright et al. 2020: 0.85)
- :func:`dc`                DC error ``mean_b (mean_t (y - p))^2 / mean y^2``
- :func:`mrstft`            multi-resolution STFT loss: spectral convergence + log-magnitude
  distance, averaged over resolutions (the spectral loss the thesis named as future research)
- :class:`CompositeLoss`    a weighted sum of the above with the first ``warmup`` samples of every
  segment excluded; a ``keras.losses.Loss``, serialisable
- :func:`parse_loss`        ``"0.75*esr_pre+0.25*dc"`` -> ``{"esr_pre": 0.75, "dc": 0.25}``
- :data:`LOSS_NAMES`        the names a loss spec may use

Caution (DESIGN.md): pre-emphasis is itself a high-pass, so ``esr_pre`` de-weights exactly the
band a 440 Hz high-pass changes. fxlab's default training loss is plain ``esr``; evaluation always
reports plain ESR and spectral error whatever the loss.
"""

from __future__ import annotations

import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads (quiet reports)

import keras  # noqa: E402
from keras import ops  # noqa: E402

from fxlab.errors import ParameterError, problem, unknown_name  # noqa: E402

__all__ = [
    "EPS",
    "LOSS_NAMES",
    "SEQUENCE_LOSSES",
    "CompositeLoss",
    "dc",
    "esr",
    "esr_pre_emphasis",
    "esr_segment",
    "mrstft",
    "mse",
    "parse_loss",
]

EPS = 1e-8
LOSS_NAMES = ("mse", "esr", "esr_seg", "esr_pre", "dc", "mrstft")
#: Losses that need contiguous time (not usable with windowed models' random windows).
SEQUENCE_LOSSES = ("esr_seg", "esr_pre", "mrstft")
DEFAULT_FFT_SIZES = (256, 1024, 2048)


def _as_sequence(y):
    """``[B, 1]`` -> ``[1, B, 1]``; ``[B, T]`` -> ``[B, T, 1]``; ``[B, T, 1]`` unchanged."""
    y = ops.convert_to_tensor(y, dtype="float32")
    if len(y.shape) == 2 and y.shape[-1] == 1:
        return ops.reshape(y, (1, -1, 1))
    if len(y.shape) == 2:
        return ops.expand_dims(y, -1)
    return y


def mse(y_true, y_pred):
    """Mean squared error over every sample (scalar, >= 0)."""
    t, p = _as_sequence(y_true), _as_sequence(y_pred)
    return ops.mean(ops.square(t - p))


def esr(y_true, y_pred, *, eps: float = EPS):
    """Error-to-signal ratio ``sum (y - p)^2 / (sum y^2 + eps)`` over the batch (scalar, >= 0)."""
    t, p = _as_sequence(y_true), _as_sequence(y_pred)
    return ops.sum(ops.square(t - p)) / (ops.sum(ops.square(t)) + eps)


def esr_segment(y_true, y_pred, *, floor: float = 0.01, eps: float = EPS):
    """ESR of each segment, averaged: ``mean_b sum_t (y - p)^2 / max(sum_t y^2, floor * mean_b sum_t y^2)``.

    Each segment's own energy normalises its error, so quiet segments (a low knob setting) weigh
    as much as loud ones; the denominator is floored at ``floor`` times the batch's mean segment
    energy so a near-silent segment cannot dominate.
    """
    t, p = _as_sequence(y_true), _as_sequence(y_pred)
    num = ops.sum(ops.square(t - p), axis=(1, 2))
    den = ops.sum(ops.square(t), axis=(1, 2))
    den = ops.maximum(den, floor * ops.mean(den)) + eps
    return ops.mean(num / den)


def _pre_emphasis(y, coef):
    """``y[t] - coef * y[t-1]`` along time, for t >= 1 (shape ``[B, T-1, 1]``)."""
    return y[:, 1:, :] - coef * y[:, :-1, :]


def esr_pre_emphasis(y_true, y_pred, *, coef: float = 0.85, eps: float = EPS):
    """ESR after the first-order pre-emphasis filter ``1 - coef z^-1`` (coef in [0, 1)).

    Both signals are filtered along time; the first sample (which has no predecessor) is dropped.
    """
    t, p = _as_sequence(y_true), _as_sequence(y_pred)
    return esr(_pre_emphasis(t, coef), _pre_emphasis(p, coef), eps=eps)


def dc(y_true, y_pred, *, eps: float = EPS):
    """DC error ``mean_b (mean_t (y - p))^2 / (mean y^2 + eps)`` (scalar, >= 0)."""
    t, p = _as_sequence(y_true), _as_sequence(y_pred)
    return ops.mean(ops.square(ops.mean(t - p, axis=1))) / (ops.mean(ops.square(t)) + eps)


def _magnitude(y, n_fft):
    re, im = ops.stft(y, sequence_length=n_fft, sequence_stride=n_fft // 4, fft_length=n_fft,
                      window="hann", center=False)
    return ops.sqrt(ops.square(re) + ops.square(im) + EPS)


def mrstft(y_true, y_pred, *, fft_sizes=DEFAULT_FFT_SIZES):
    """Multi-resolution STFT loss (auraloss's, without the mel or perceptual weighting).

    For each FFT size ``N`` (Hann window of N samples, hop N/4, no centring padding), with
    ``S = sqrt(|STFT|^2 + EPS)`` of each segment: spectral convergence
    ``||S_y - S_p||_F / ||S_y||_F`` plus log-magnitude distance ``mean |log S_y - log S_p|``;
    the result is the mean over the sizes. Segments must be at least ``max(fft_sizes)`` long.
    """
    t, p = _as_sequence(y_true), _as_sequence(y_pred)
    t, p = t[..., 0], p[..., 0]
    total = 0.0
    for n_fft in fft_sizes:
        st, sp = _magnitude(t, n_fft), _magnitude(p, n_fft)
        sc = ops.sqrt(ops.sum(ops.square(st - sp))) / (ops.sqrt(ops.sum(ops.square(st))) + EPS)
        lm = ops.mean(ops.abs(ops.log(st) - ops.log(sp)))
        total = total + sc + lm
    return total / len(fft_sizes)


_TERM = re.compile(r"^\s*(?:(?P<w>[0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*\*\s*)?(?P<name>[a-z_]+)\s*$")


def parse_loss(spec) -> dict[str, float]:
    """A loss spec as ``{name: weight}``.

    ``spec`` is a name (``"esr"``), a sum of weighted names (``"0.75*esr_pre+0.25*dc"``; a missing
    weight is 1) or already a dict. Weights must be > 0; names are :data:`LOSS_NAMES`.
    """
    if isinstance(spec, dict):
        terms = {str(k): float(v) for k, v in spec.items()}
    elif isinstance(spec, str) and spec.strip():
        terms = {}
        for part in spec.split("+"):
            m = _TERM.match(part)
            if not m:
                raise ParameterError(problem(
                    f"loss spec {spec!r}", found=f"the term {part.strip()!r}",
                    expected="terms like 'esr' or '0.25*dc' joined by '+'",
                    fix="write e.g. loss='0.75*esr+0.25*dc'"))
            terms[m["name"]] = terms.get(m["name"], 0.0) + float(m["w"] or 1.0)
    else:
        raise ParameterError(problem(f"loss spec {spec!r}", found=type(spec).__name__,
                                     expected="a string like 'esr+0.25*dc' or a dict",
                                     fix="pass loss='esr'"))
    for name, weight in terms.items():
        if name not in LOSS_NAMES:
            raise unknown_name("loss", name, LOSS_NAMES)
        if not weight > 0:
            raise ParameterError(problem(f"loss weight of {name!r}", found=str(weight),
                                         expected="a weight > 0", fix="drop the term or make it positive"))
    return terms


@keras.saving.register_keras_serializable(package="fxlab")
class CompositeLoss(keras.losses.Loss):
    """Weighted sum of fxlab losses, with a warm-up excluded.

    Parameters
    ----------
    terms : str or dict
        Loss spec, see :func:`parse_loss` (e.g. ``"esr"``, ``"0.75*esr_pre+0.25*dc"``).
    warmup : int >= 0
        Samples at the start of every segment left out of the loss (samples, not seconds): the
        state starts at zero there and has not yet settled. Ignored for ``[B, 1]`` (windowed)
        inputs, which have no time axis.
    pre_emphasis : float in [0, 1)
        ``coef`` of ``esr_pre``.
    fft_sizes : tuple of int
        Resolutions of ``mrstft``.
    """

    def __init__(self, terms="esr", *, warmup: int = 0, pre_emphasis: float = 0.85,
                 fft_sizes=DEFAULT_FFT_SIZES, name: str = "fxlab_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.terms = parse_loss(terms)
        if not isinstance(warmup, int) or warmup < 0:
            raise ParameterError(problem(f"warmup={warmup!r}", found=repr(warmup),
                                         expected="an integer number of samples >= 0",
                                         fix="pass warmup=0 or e.g. 200"))
        if not 0.0 <= float(pre_emphasis) < 1.0:
            raise ParameterError(problem(f"pre_emphasis={pre_emphasis!r}", found=repr(pre_emphasis),
                                         expected="a coefficient in [0, 1)", fix="use 0.85 (Wright et al.)"))
        self.warmup = int(warmup)
        self.pre_emphasis = float(pre_emphasis)
        self.fft_sizes = tuple(int(n) for n in fft_sizes)

    def call(self, y_true, y_pred):
        t, p = _as_sequence(y_true), _as_sequence(y_pred)
        if len(ops.shape(y_pred)) == 3 and self.warmup:
            t, p = t[:, self.warmup:, :], p[:, self.warmup:, :]
        total = 0.0
        for name, weight in self.terms.items():
            if name == "mse":
                value = mse(t, p)
            elif name == "esr":
                value = esr(t, p)
            elif name == "esr_seg":
                value = esr_segment(t, p)
            elif name == "esr_pre":
                value = esr_pre_emphasis(t, p, coef=self.pre_emphasis)
            elif name == "dc":
                value = dc(t, p)
            else:
                value = mrstft(t, p, fft_sizes=self.fft_sizes)
            total = total + weight * value
        return total

    def get_config(self):
        return {"terms": dict(self.terms), "warmup": self.warmup, "pre_emphasis": self.pre_emphasis,
                "fft_sizes": list(self.fft_sizes), "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
