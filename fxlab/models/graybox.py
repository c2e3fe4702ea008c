"""``graybox``: a traditional effect emulator -- parametric EQ and static nonlinearity -- fitted from data.

The thesis asks whether networks can stand in for *traditional* emulators. This is one, built from
blocks an audio engineer recognises, with parameters one can read (Hz, dB, Q), trained by the same
pipeline on the same recordings as the networks (the gray-box models of differentiable DSP:
dasp-pytorch, NablAFx).

Structure (``shaper=0``: the first line alone; ``shaper=U > 0``: a Wiener--Hammerstein chain)::

    x -> delay -> EQ "eq"                                               -> y     (linear)
    x -> delay -> EQ "pre" -> drive gain -> shaper f(.) -> EQ "post"    -> y     (nonlinear)

- **delay**: whole samples, measured when the EQ is fitted (an effect's oversampling filters or
  look-ahead delay it; no EQ holds a delay, and without it the drive's fit was no better than
  silence); not trained.
- **EQ**: a cascade of ``sections`` filters, :data:`SECTION_KINDS` in this order -- 1st-order
  high- and low-pass (``hp1``, ``lp1``; the high-pass is also the DC blocker), 2nd-order high-
  and low-pass (``hp2``, ``lp2``, 12 dB/octave, with a Q), a low shelf, a high shelf, then
  ``sections - 6`` peaking sections (Audio EQ Cookbook) -- and an output gain. Each filter's
  parameters are its frequency, gain and Q, mapped from unconstrained weights into ranges where
  every section is stable by construction: frequency in [:data:`F_MIN`, :data:`F_MAX`] x the
  sample rate (log scale), gain in +-:data:`GAIN_MAX_DB`, Q in [:data:`Q_MIN`, :data:`Q_MAX`]
  (log scale). The high- and low-passes have a *depth* in [0, 1] where the others have a gain:
  ``1 + depth * (filter - 1)`` (the 1st-order ones as ``1 - depth * complement``: bilinear with
  pre-warping, exactly ``scipy.signal.butter(1, ...)`` at depth 1). A section that has nothing
  to do is exactly a wire: depth 0, or 0 dB.
- **shaper**: ``f(u) = l u + sum_k c_k (tanh(w_k u + d_k) - tanh(d_k))``, ``U`` tanh units: odd
  when every ``d_k = 0``, asymmetric otherwise, and ``f(0) = 0`` always (no DC at silence); the
  post-EQ's high-pass removes what DC an asymmetric curve makes with signal.
- **controller** (``knobs=K > 0``): a small network from the knob values (normalised to [0, 1])
  to every block's parameters -- ``theta(k) = theta + k A + tanh(k W1 + b1) W2`` (``A``, ``W2``
  start at zero, so it starts as one fixed emulator) -- the "conditional controller" of the
  gray-box literature. The parameters are those of the knob values at the first sample of the
  Keras call (training segments never straddle a change of setting); the runtime recomputes them
  every :data:`KNOB_BLOCK` samples while a knob moves.

Training and running. Keras trains it by *frequency sampling*: each EQ's response is evaluated on
the FFT grid of the zero-padded segment (length ``2 T``) and applied by multiplication, which is
the recursive filter's output from a zero state to float32 rounding whenever the filter's impulse
response has decayed within ``T`` samples (a 1st-order 440 Hz high-pass: 250 samples to 1e-7). The
runtime runs the exact recursive filters (:mod:`fxlab.runtime.graybox_kernel`, numba, state carried
across blocks), equal to the Keras model within 1e-5. Before gradient descent,
:func:`fxlab.models.graybox_fit.initialise` fits the EQ in closed form from the data (least squares on the deconvolved
impulse response's spectrum); for a linear effect that fit is already the answer.

Functions and classes
---------------------
- :func:`build`, :func:`config_from_keras`   the Keras model and its parameters
- :class:`GrayBox`                           the Keras layer (registered for saving)
- :func:`spec_of`, :class:`GrayboxSpec`      the trained weights, for the runtime and exporters
- :func:`freq_weight`, :func:`eq_coefficients`, :func:`default_theta`  the weights' maps

Its closed-form start from data (and how far a pair is from linear) is
:mod:`fxlab.models.graybox_fit`.
- :func:`layout`                             the section kinds of an EQ of ``sections`` filters
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem

__all__ = ["CONTROLLER_HIDDEN", "F_MAX", "F_MIN", "GAIN_MAX_DB", "KNOB_BLOCK", "Q_MAX", "Q_MIN",
           "SECTION_KINDS", "GrayboxSpec", "build", "config_from_keras", "layout", "spec_of"]

#: The first four sections of every EQ, in order; the rest are ``"peak"``.
SECTION_KINDS = ("hp1", "lp1", "hp2", "lp2", "lowshelf", "highshelf")
#: The sections whose second weight is a depth in [0, 1] (0: a wire) rather than a gain.
DEPTH_KINDS = ("hp1", "lp1", "hp2", "lp2")
#: Frequency range of every section, as a fraction of the sample rate (0.44 Hz ... 21.6 kHz at
#: 44.1 kHz).
F_MIN, F_MAX = 1e-5, 0.49
#: Largest boost or cut of a shelf or peak, dB.
GAIN_MAX_DB = 30.0
#: Q range (shelves: the Cookbook's Q form; 0.7071 is the steepest shelf without overshoot).
Q_MIN, Q_MAX = 0.1, 20.0
#: Width of the controller's hidden layer.
CONTROLLER_HIDDEN = 16
#: While a knob moves, the runtime recomputes the parameters every so many samples.
KNOB_BLOCK = 32
_LOG10 = math.log(10.0)


def layout(sections: int) -> tuple[str, ...]:
    """The section kinds of an EQ of ``sections`` (>= 6) filters, in cascade order."""
    return SECTION_KINDS + ("peak",) * (int(sections) - len(SECTION_KINDS))


def n_eq_params(sections: int) -> int:
    """Unconstrained weights of one EQ: (frequency, gain, Q) per section, then the output gain."""
    return 3 * int(sections) + 1


def n_params(cfg: dict[str, Any]) -> int:
    """Length of the weight vector ``theta`` (see :func:`_unpack`)."""
    eq = n_eq_params(cfg["sections"])
    u = int(cfg["shaper"])
    return eq if u == 0 else 2 * eq + 1 + 1 + 3 * u


# ---------------------------------------------------------------------------------------------
# The parameter maps and the filter formulas, written once for numpy and for keras.ops


_NP = SimpleNamespace(sigmoid=lambda v: 0.5 * (1.0 + np.tanh(0.5 * v)), tanh=np.tanh, exp=np.exp,
                      clip=np.clip,
                      expm1=np.expm1, sin=np.sin, cos=np.cos, sqrt=np.sqrt, ones_like=np.ones_like,
                      zeros_like=np.zeros_like)


def _keras_ops():
    import keras

    o = keras.ops
    return SimpleNamespace(sigmoid=o.sigmoid, tanh=o.tanh, exp=o.exp, expm1=o.expm1, sin=o.sin,
                           clip=o.clip,
                           cos=o.cos, sqrt=o.sqrt, ones_like=o.ones_like, zeros_like=o.zeros_like)


def freq_of(raw, ops=_NP):
    """Frequency as a fraction of the sample rate, from its weight (log scale, sigmoid-bounded)."""
    return F_MIN * ops.exp(math.log(F_MAX / F_MIN) * ops.sigmoid(raw))


def freq_weight(f: float) -> float:
    """The weight of a section's frequency ``f`` (fraction of the sample rate): :func:`freq_of`'s
    inverse."""
    return _logit(math.log(f / F_MIN) / math.log(F_MAX / F_MIN))


def depth_of(raw, ops=_NP):
    """A 1st-order section's depth in [0, 1] (0: a wire, 1: the whole filter) from its weight."""
    return ops.clip(raw, 0.0, 1.0)


def gain_db_of(raw, ops=_NP):
    return GAIN_MAX_DB * ops.tanh(raw)


def q_of(raw, ops=_NP):
    return Q_MIN * ops.exp(math.log(Q_MAX / Q_MIN) * ops.sigmoid(raw))


def _section(kind: str, f, g_db, q, ops=_NP):
    """``(d0, d1, d2, a1, a2)`` of one section: its response is ``1 + D(z) / A(z)`` with
    ``D = d0 + d1 z^-1 + d2 z^-2`` and ``A = 1 + a1 z^-1 + a2 z^-2``, so ``b = a + d`` (``a0 = 1``).

    Written as the difference from a wire, in closed form (the Cookbook's numerator minus its
    denominator, factored), so that a section at 0 dB is exactly a wire in float32 too, however
    close to DC its poles sit; the 1st-order sections with sin and cos of ``pi f`` rather than its
    tangent, so that float32 stays finite next to Nyquist.
    """
    one = ops.ones_like(f)
    zero = 0.0 * f
    if kind in ("hp2", "lp2"):  # 1 + depth * (the Cookbook's high/low-pass - 1); g_db: the depth
        w0 = 2.0 * math.pi * f
        cw = ops.cos(w0)
        one_m_c = 2.0 * ops.sin(0.5 * w0) ** 2
        alpha = ops.sin(w0) / (2.0 * q)
        a0, a1, a2 = one + alpha, -2.0 * cw, one - alpha
        if kind == "lp2":  # b - a, with b = ((1 - c) / 2, 1 - c, (1 - c) / 2)
            diff = (0.5 * one_m_c - one - alpha, 2.0 * one - one_m_c, 0.5 * one_m_c - one + alpha)
        else:  # b - a, with b = ((1 + c) / 2, -(1 + c), (1 + c) / 2): small, so in closed form
            diff = (-0.5 * one_m_c - alpha, -one_m_c, -0.5 * one_m_c + alpha)
        return (g_db * diff[0] / a0, g_db * diff[1] / a0, g_db * diff[2] / a0, a1 / a0, a2 / a0)
    if kind in ("hp1", "lp1"):  # K = tan(pi f); a1 = (K - 1) / (K + 1); g_db is the depth here
        c, s = ops.cos(math.pi * f), ops.sin(math.pi * f)
        inv = g_db / (c + s)
        a1 = (s - c) / (c + s)
        if kind == "hp1":  # 1 - depth * low-pass; the low-pass is (K, K) / (1 + K)
            return -s * inv, -s * inv, zero, a1, zero
        return -c * inv, c * inv, zero, a1, zero  # 1 - depth * high-pass, (1, -1) / (1 + K)
    am1 = ops.expm1(g_db * (_LOG10 / 40.0))  # A - 1, A = 10 ** (gain / 40)
    a = one + am1
    w0 = 2.0 * math.pi * f
    cw, sw = ops.cos(w0), ops.sin(w0)
    one_m_c = 2.0 * ops.sin(0.5 * w0) ** 2  # 1 - cos(w0), without cancellation near DC
    alpha = sw / (2.0 * q)
    if kind == "peak":
        den = (one + alpha / a, -2.0 * cw, one - alpha / a)
        d0 = alpha * am1 * (a + one) / a  # alpha (A - 1/A)
        diff = (d0, zero, -d0)
    else:
        sa = 2.0 * ops.sqrt(a) * alpha
        sg = 1.0 if kind == "lowshelf" else -1.0
        den = ((a + 1) + sg * (a - 1) * cw + sa, -sg * 2.0 * ((a - 1) + sg * (a + 1) * cw),
               (a + 1) + sg * (a - 1) * cw - sa)
        edge = one_m_c if kind == "lowshelf" else 2.0 * one - one_m_c  # 1 - cw or 1 + cw
        diff = (am1 * ((a + 1) * edge + sa), sg * 2.0 * am1 * (a + 1) * edge,
                am1 * ((a + 1) * edge - sa))
    a0 = den[0]
    return diff[0] / a0, diff[1] / a0, diff[2] / a0, den[1] / a0, den[2] / a0


def eq_coefficients(theta_eq, sections: int, ops=_NP):
    """The EQ's sections and output gain from its weights ``theta_eq [..., 3 S + 1]``:
    ``([(d0, d1, d2, a1, a2)] * S, gain)``, each ``[...]`` (:func:`_section`)."""
    secs = []
    for i, kind in enumerate(layout(sections)):
        f = freq_of(theta_eq[..., 3 * i], ops)
        g = (depth_of if kind in DEPTH_KINDS else gain_db_of)(theta_eq[..., 3 * i + 1], ops)
        q = q_of(theta_eq[..., 3 * i + 2], ops)
        secs.append(_section(kind, f, g, q, ops))
    gain = amp_of(theta_eq[..., 3 * sections], ops)  # the weight is log10 of the gain
    return secs, gain


def _unpack(theta, cfg: dict[str, Any]) -> dict[str, Any]:
    """Split ``theta [..., P]`` into its blocks (slices along the last axis)."""
    s, u = int(cfg["sections"]), int(cfg["shaper"])
    e = n_eq_params(s)
    if u == 0:
        return {"eq": theta[..., :e]}
    i = e
    out = {"pre": theta[..., :e], "drive": theta[..., i], "lin": theta[..., i + 1]}
    i += 2
    out["c"], out["w"], out["d"] = (theta[..., i:i + u], theta[..., i + u:i + 2 * u],
                                    theta[..., i + 2 * u:i + 3 * u])
    out["post"] = theta[..., i + 3 * u:i + 3 * u + e]
    return out


def default_theta(cfg: dict[str, Any]) -> np.ndarray:
    """The starting weights: every EQ neutral, the drive at 0 dB, the shaper ``tanh(u)`` (the
    other units off, their slopes spread over a decade each way)."""
    s, u = int(cfg["sections"]), int(cfg["shaper"])
    eq = np.zeros(n_eq_params(s))
    kinds = layout(s)
    n_fixed = len(SECTION_KINDS)
    peaks = np.geomspace(100.0, 8000.0, max(s - n_fixed, 1)) / 44100.0
    freqs = {"hp1": 20.0 / 44100.0, "lp1": 16000.0 / 44100.0, "hp2": 20.0 / 44100.0,
             "lp2": 16000.0 / 44100.0, "lowshelf": 100.0 / 44100.0,
             "highshelf": 8000.0 / 44100.0}
    for i, kind in enumerate(kinds):
        f = freqs[kind] if kind in freqs else peaks[min(i - n_fixed, peaks.size - 1)]
        eq[3 * i] = freq_weight(f)  # the 1st-order sections' depth weights stay 0: off
        eq[3 * i + 2] = _logit(math.log(0.7071 / Q_MIN) / math.log(Q_MAX / Q_MIN))
    if u == 0:
        return eq.astype(np.float32)
    c = np.zeros(u)
    c[0] = 1.0
    w = np.log(np.geomspace(0.1, 10.0, u)) if u > 1 else np.zeros(1)
    w[0] = 0.0
    d = np.zeros(u)
    return np.concatenate([eq, [0.0, 0.0], c, w, d, eq]).astype(np.float32)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1.0 - p))


def shaper_of(blocks: dict[str, Any], ops=_NP):
    """The shaper's ``(l, c, w, d)`` from its weights (``w = exp`` of its weight, clipped to
    [-8, 8]: positive and finite)."""
    return blocks["lin"], blocks["c"], ops.exp(ops.clip(blocks["w"], -8.0, 8.0)), blocks["d"]


def amp_of(raw, ops=_NP):
    """A gain from its weight, ``10 ** raw`` with the weight clipped to [-6, 6] (+-120 dB): a
    step of Adam can never make it overflow (which turned a training run into NaN)."""
    return ops.exp(ops.clip(raw, -6.0, 6.0) * _LOG10)


# ---------------------------------------------------------------------------------------------
# Keras


def _register():
    import keras

    @keras.saving.register_keras_serializable(package="fxlab")
    class GrayBox(keras.layers.Layer):
        """The gray-box emulator as one Keras layer: ``[B, T, 1 + K] -> [B, T, 1]``."""

        def __init__(self, sections: int = 6, shaper: int = 0, knobs: int = 0, **kwargs):
            super().__init__(**kwargs)
            self.cfg = {"sections": int(sections), "shaper": int(shaper), "knobs": int(knobs)}

        def build(self, input_shape):
            p, k = n_params(self.cfg), self.cfg["knobs"]
            init = keras.initializers.Constant(default_theta(self.cfg))
            self.theta = self.add_weight(shape=(p,), initializer=init, name="theta")
            # whole samples, measured by initialise (not trained: no gradient moves a delay)
            self.delay = self.add_weight(shape=(), initializer="zeros", name="delay",
                                         trainable=False)
            if k:
                zeros = keras.initializers.Zeros()
                self.ctrl_a = self.add_weight(shape=(k, p), initializer=zeros, name="ctrl_a")
                self.ctrl_w1 = self.add_weight(shape=(k, CONTROLLER_HIDDEN),
                                               initializer=keras.initializers.RandomNormal(stddev=1.0),
                                               name="ctrl_w1")
                self.ctrl_b1 = self.add_weight(shape=(CONTROLLER_HIDDEN,), initializer=zeros,
                                               name="ctrl_b1")
                self.ctrl_w2 = self.add_weight(shape=(CONTROLLER_HIDDEN, p), initializer=zeros,
                                               name="ctrl_w2")

        def compute_output_shape(self, input_shape):
            return (*input_shape[:-1], 1)

        def call(self, x):
            o = keras.ops
            dt = _compute_dtype()
            audio = o.cast(x[..., 0], dt)
            theta = o.expand_dims(o.cast(self.theta, dt), 0)  # [1, P]
            if self.cfg["knobs"]:
                kn = o.cast(x[:, 0, 1:], dt)  # the setting at the segment's first sample, [B, K]
                hidden = o.tanh(o.matmul(kn, o.cast(self.ctrl_w1, dt)) + o.cast(self.ctrl_b1, dt))
                theta = (theta + o.matmul(kn, o.cast(self.ctrl_a, dt))
                         + o.matmul(hidden, o.cast(self.ctrl_w2, dt)))
            y = forward_fft(audio, theta, self.cfg, o.cast(self.delay, dt))
            return o.cast(o.expand_dims(y, -1), x.dtype)

        def get_config(self):
            return {**super().get_config(), **self.cfg}

    return GrayBox


_LAYER = None


def _compute_dtype() -> str:
    """float64 where the backend computes it (TensorFlow; JAX with ``jax_enable_x64``), else
    float32. A biquad whose poles sit near DC or Nyquist is sensitive to its coefficients'
    rounding: in float32 the frequency-sampled response of a 150 Hz 2nd-order high-pass differs
    from the exact recursion by about 1e-4 of full scale, in float64 by nothing measurable."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return "float64" if jax.config.jax_enable_x64 else "float32"
    return "float64"


def layer_class():
    """The registered Keras layer class :class:`GrayBox` (made on first use: Keras is imported
    only when a model is built or loaded)."""
    global _LAYER
    if _LAYER is None:
        _LAYER = _register()
    return _LAYER


def _eq_response(theta_eq, sections: int, cos_w, sin_w, cos_2w, sin_2w, ops):
    """The EQ's frequency response ``(re, im)`` on a grid, ``[B, F]`` (``theta_eq [B, 3S+1]``)."""
    import keras

    o = keras.ops
    secs, gain = eq_coefficients(theta_eq, sections, ops)
    re = o.expand_dims(gain, -1) * o.ones_like(cos_w)
    im = o.zeros_like(re)
    for d0, d1, d2, a1, a2 in secs:
        d0, d1, d2, a1, a2 = (o.expand_dims(v, -1) for v in (d0, d1, d2, a1, a2))
        nr, ni = d0 + d1 * cos_w + d2 * cos_2w, -(d1 * sin_w + d2 * sin_2w)
        dr, di = 1.0 + a1 * cos_w + a2 * cos_2w, -(a1 * sin_w + a2 * sin_2w)
        den = dr * dr + di * di + 1e-30  # 0/0 only where a pole meets a zero on the unit circle
        hr, hi = 1.0 + (nr * dr + ni * di) / den, (ni * dr - nr * di) / den
        re, im = re * hr - im * hi, re * hi + im * hr
    return re, im


def _apply_eq(audio, theta_eq, sections: int, ops, delay=None):
    """``audio [B, T]`` through the EQ by frequency sampling (zero-padded to ``2 T``), delayed by
    ``delay`` samples first when given (a phase ``exp(-j w delay)``: exact for whole samples)."""
    import keras

    o = keras.ops
    t = audio.shape[-1] if audio.shape[-1] is not None else o.shape(audio)[-1]
    n = 2 * t
    k = o.cast(o.arange(0, n // 2 + 1), audio.dtype)
    w = k * (2.0 * math.pi) / o.cast(n, audio.dtype)
    hr, hi = _eq_response(theta_eq, sections, o.cos(w)[None], o.sin(w)[None],
                          o.cos(2.0 * w)[None], o.sin(2.0 * w)[None], ops)
    if delay is not None:
        pr, pi = o.cos(w * delay)[None], -o.sin(w * delay)[None]
        hr, hi = hr * pr - hi * pi, hr * pi + hi * pr
    xr, xi = o.rfft(audio, fft_length=n)
    y = o.irfft((xr * hr - xi * hi, xr * hi + xi * hr), fft_length=n)
    return y[..., :t]


def forward_fft(audio, theta, cfg: dict[str, Any], delay=None):
    """The emulator on ``audio [B, T]`` with weights ``theta [B or 1, P]`` (Keras ops), its input
    delayed by ``delay`` whole samples (a scalar tensor; None: no delay)."""
    import keras

    o = keras.ops
    ops = _keras_ops()
    s = int(cfg["sections"])
    blocks = _unpack(theta, cfg)
    if int(cfg["shaper"]) == 0:
        return _apply_eq(audio, blocks["eq"], s, ops, delay)
    u = _apply_eq(audio, blocks["pre"], s, ops, delay)
    u = u * o.expand_dims(amp_of(blocks["drive"], ops), -1)
    lin, c, w, d = shaper_of(blocks, ops)
    ue = o.expand_dims(u, -1)  # [B, T, 1] against the units [B, 1, U]
    c, w, d = (o.expand_dims(v, 1) for v in (c, w, d))
    v = o.expand_dims(lin, -1) * u + o.sum(c * (o.tanh(w * ue + d) - o.tanh(d)), axis=-1)
    return _apply_eq(v, blocks["post"], s, ops)


def build(cfg: dict[str, Any]):
    """The Keras model of the gray-box emulator from its full config."""
    import keras

    k = int(cfg.get("knobs", 0))
    x = keras.Input(shape=(None, 1 + k), name="audio_knobs" if k else "audio")
    y = layer_class()(sections=cfg["sections"], shaper=cfg["shaper"], knobs=k, name="graybox")(x)
    return keras.Model(x, y, name=cfg["name"])


def config_from_keras(km) -> dict[str, Any]:
    """``sections``, ``shaper`` and ``knobs`` of a model built by :func:`build`."""
    return dict(km.get_layer("graybox").cfg)


# ---------------------------------------------------------------------------------------------
# The trained weights, read for the runtime and the exporters


@dataclass(frozen=True)
class GrayboxSpec:
    """A trained gray-box emulator's weights (float64) and structure.

    ``theta [P]``; with knobs, the controller ``a [K, P]``, ``w1 [K, H]``, ``b1 [H]``, ``w2 [H, P]``.
    :meth:`blocks` gives every block's playable parameters at a knob setting.
    """

    sections: int
    shaper: int
    knobs: int
    theta: np.ndarray
    delay: int = 0
    a: np.ndarray | None = None
    w1: np.ndarray | None = None
    b1: np.ndarray | None = None
    w2: np.ndarray | None = None

    @property
    def cfg(self) -> dict[str, int]:
        return {"sections": self.sections, "shaper": self.shaper, "knobs": self.knobs}

    def theta_at(self, knobs=None) -> np.ndarray:
        """The weights at a knob setting (normalised knob values ``[K]``; None: the first sample's
        zeros are not assumed -- a conditioned emulator needs its knobs)."""
        if not self.knobs:
            return self.theta
        k = np.asarray(knobs, np.float64).reshape(self.knobs)
        return self.theta + k @ self.a + np.tanh(k @ self.w1 + self.b1) @ self.w2

    def blocks(self, knobs=None) -> dict[str, Any]:
        """Playable parameters: ``{"eq"|"pre"|"post": (sos [S, 6], gain), "drive": g,
        "shaper": (l, c, w, d)}`` (sos rows ``b0 b1 b2 1 a1 a2``, scipy's layout)."""
        theta = self.theta_at(knobs).astype(np.float64)
        parts = _unpack(theta, self.cfg)
        out: dict[str, Any] = {}
        for name in ("eq", "pre", "post"):
            if name in parts:
                secs, gain = eq_coefficients(parts[name], self.sections)
                sos = np.array([[1.0 + d0, a1 + d1, a2 + d2, 1.0, a1, a2]
                                for d0, d1, d2, a1, a2 in secs], np.float64)
                out[name] = (sos, float(gain))
        if self.shaper:
            out["drive"] = float(amp_of(parts["drive"]))
            lin, c, w, d = shaper_of(parts)
            out["shaper"] = (float(lin), np.asarray(c, np.float64), np.asarray(w, np.float64),
                             np.asarray(d, np.float64))
        return out

    def readable(self, knobs=None, *, sr: int) -> dict[str, Any]:
        """The parameters an engineer reads: per EQ section kind, Hz, dB and Q; the drive in dB."""
        parts = _unpack(self.theta_at(knobs).astype(np.float64), self.cfg)
        out: dict[str, Any] = {}
        for name in ("eq", "pre", "post"):
            if name not in parts:
                continue
            th = parts[name]
            secs = []
            for i, kind in enumerate(layout(self.sections)):
                sec = {"kind": kind, "freq_hz": float(freq_of(th[3 * i]) * sr)}
                if kind in DEPTH_KINDS:
                    sec["depth"] = float(depth_of(th[3 * i + 1]))
                    if kind in ("hp2", "lp2"):
                        sec["q"] = float(q_of(th[3 * i + 2]))
                else:
                    sec.update(gain_db=float(gain_db_of(th[3 * i + 1])), q=float(q_of(th[3 * i + 2])))
                secs.append(sec)
            out[name] = {"sections": secs, "gain_db": float(20.0 * np.clip(th[3 * self.sections], -6.0, 6.0))}
        if self.shaper:
            out["drive_db"] = float(20.0 * np.clip(parts["drive"], -6.0, 6.0))
        out["delay_samples"] = int(self.delay)
        return out


def spec_of(model) -> GrayboxSpec:
    """The weights of a gray-box emulator (a ``TrainedModel`` or a Keras model built here)."""
    from fxlab.models.base import keras_of

    km = keras_of(model)
    try:
        layer = km.get_layer("graybox")
    except ValueError:
        raise ParameterError(problem(
            f"model {km.name!r}", found="no 'graybox' layer",
            expected="a model built by fxlab.models.build_model('graybox')",
            fix="build it with fxlab.models.build_model('graybox', ...)")) from None
    cfg = layer.cfg
    w = {v.path.split("/")[-1]: np.asarray(v.numpy(), np.float64) for v in layer.weights}
    return GrayboxSpec(sections=cfg["sections"], shaper=cfg["shaper"], knobs=cfg["knobs"],
                       theta=w["theta"], delay=int(round(float(w.get("delay", 0.0)))),
                       a=w.get("ctrl_a"), w1=w.get("ctrl_w1"),
                       b1=w.get("ctrl_b1"), w2=w.get("ctrl_w2"))
