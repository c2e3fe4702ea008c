"""Compiled per-sample kernels of the recurrent networks (numba, float32).

One njit call runs a whole block. Per layer, the LSTM's input and recurrent kernels are stacked
into one ``(n_in + units, 4*units)`` matrix, so all gates come from one pass over ``[x; h]`` whose
inner loop runs over contiguous gate columns and vectorises (float32, fastmath). Scratch vectors
are allocated once per engine, never per sample. tanh is Eigen's float32 rational approximation
(the one TensorFlow's CPU kernels use; ``|error| < 3e-7``), ``sigmoid(x) = 0.5 * tanh(x / 2) + 0.5``.
float32 rather than float64: twice the SIMD width, and Keras itself computes in float32.

- :func:`lstm_kernel`, :func:`lstm_kernel_1`  any number of LSTM layers / exactly one
- :func:`gru_kernel`, :func:`gru_kernel_1`    the same for GRU layers (``reset_after=True``)
- :func:`lstm_kernel_k`, :func:`lstm_kernel_k_1`, :func:`gru_kernel_k`, :func:`gru_kernel_k_1`
  the same for knob-conditioned networks: beside each audio sample ``x[t]``, the ``K`` knob
  values ``knobs[t, :]`` (normalised to [0, 1]) enter the first layer; the residual adds
  ``x[t]`` alone. Unconditioned networks keep the kernels above, untouched.
- :func:`tanh`                                the float32 tanh the kernels share
- :func:`peak`                                a block's largest magnitude (the processor's level
  watch: ~0.3 us a block where numpy's ``abs().max()`` takes ~3)
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["gru_kernel", "gru_kernel_1", "gru_kernel_k", "gru_kernel_k_1", "lstm_kernel",
           "lstm_kernel_1", "lstm_kernel_k", "lstm_kernel_k_1", "peak", "tanh"]

_CLAMP = np.float32(7.90531110763549805)


@njit(nogil=True, cache=True)
def peak(x):
    """The largest ``|x[t]|`` of a 1-D float32 block (0.0 when empty)."""
    m = np.float32(0.0)
    for v in x:
        a = abs(v)
        if a > m:
            m = a
    return float(m)


@njit(inline="always", fastmath=True, error_model="numpy")
def tanh(x):
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = np.float32(-2.76076847742355e-16)
    p = p * x2 + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = q * x2 + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return p * x / q


@njit(inline="always", fastmath=True, error_model="numpy")
def _lstm_cell(w, b, h, c, v, z, k_in):
    """One LSTM step: v[:k_in] is the input; h, c updated in place; v[:u] = new h."""
    half = np.float32(0.5)
    g = w.shape[1]
    u = g // 4
    for k in range(u):
        v[k_in + k] = h[k]
    for j in range(g):
        z[j] = b[j]
    for k in range(w.shape[0]):  # = k_in + u
        vk = v[k]
        for j in range(g):
            z[j] += w[k, j] * vk
    for j in range(2 * u):
        z[j] = half * tanh(half * z[j]) + half
    for j in range(2 * u, 3 * u):
        z[j] = tanh(z[j])
    for j in range(3 * u, g):
        z[j] = half * tanh(half * z[j]) + half
    for k in range(u):
        c[k] = z[u + k] * c[k] + z[k] * z[2 * u + k]
    for k in range(u):
        h[k] = z[3 * u + k] * tanh(c[k])
    for k in range(u):
        v[k] = h[k]
    return u


@njit(inline="always", fastmath=True, error_model="numpy")
def _gru_cell(wx, wh, bx, bh, h, v, zx, zh, k_in):
    """One GRU step (reset_after): v[:k_in] is the input; h updated in place; v[:u] = new h."""
    half = np.float32(0.5)
    one = np.float32(1.0)
    g = wx.shape[1]
    u = g // 3
    for j in range(g):
        zx[j] = bx[j]
        zh[j] = bh[j]
    for k in range(wx.shape[0]):  # = k_in
        vk = v[k]
        for j in range(g):
            zx[j] += wx[k, j] * vk
    for k in range(wh.shape[0]):  # = u
        hk = h[k]
        for j in range(g):
            zh[j] += wh[k, j] * hk
    for j in range(2 * u):
        zx[j] = half * tanh(half * (zx[j] + zh[j])) + half
    for k in range(u):
        zh[k] = tanh(zx[2 * u + k] + zx[u + k] * zh[2 * u + k])
    for k in range(u):
        h[k] = zx[k] * h[k] + (one - zx[k]) * zh[k]
    for k in range(u):
        v[k] = h[k]
    return u


@njit(inline="always", fastmath=True, error_model="numpy")
def _head(v, u, head_w, head_b):
    out = head_b
    for k in range(u):
        out += head_w[k] * v[k]
    return out


@njit(fastmath=True, cache=True, error_model="numpy")
def lstm_kernel(x, y, ws, bs, hs, cs, v, z, head_w, head_b, residual):
    # ws[l]: fused (n_in + u, 4u) C-contiguous; bs[l]: (4u,); hs[l], cs[l]: (u,) state
    n_layers = len(ws)
    for t in range(x.shape[0]):
        v[0] = x[t]
        k_in = 1
        for layer in range(n_layers):
            k_in = _lstm_cell(ws[layer], bs[layer], hs[layer], cs[layer], v, z, k_in)
        y[t] = _head(v, k_in, head_w, head_b) + (x[t] if residual else np.float32(0.0))


@njit(fastmath=True, cache=True, error_model="numpy")
def lstm_kernel_1(x, y, w, b, h, c, v, z, head_w, head_b, residual):
    # the same for one layer, arrays passed directly (about 1.5x faster than through a tuple)
    for t in range(x.shape[0]):
        v[0] = x[t]
        u = _lstm_cell(w, b, h, c, v, z, 1)
        y[t] = _head(v, u, head_w, head_b) + (x[t] if residual else np.float32(0.0))


@njit(fastmath=True, cache=True, error_model="numpy")
def gru_kernel(x, y, wxs, whs, bxs, bhs, hs, v, zx, zh, head_w, head_b, residual):
    # wxs[l]: (n_in, 3u); whs[l]: (u, 3u); bxs[l], bhs[l]: (3u,) input / recurrent biases
    n_layers = len(wxs)
    for t in range(x.shape[0]):
        v[0] = x[t]
        k_in = 1
        for layer in range(n_layers):
            k_in = _gru_cell(wxs[layer], whs[layer], bxs[layer], bhs[layer], hs[layer], v, zx, zh, k_in)
        y[t] = _head(v, k_in, head_w, head_b) + (x[t] if residual else np.float32(0.0))


@njit(fastmath=True, cache=True, error_model="numpy")
def gru_kernel_1(x, y, wx, wh, bx, bh, h, v, zx, zh, head_w, head_b, residual):
    for t in range(x.shape[0]):
        v[0] = x[t]
        u = _gru_cell(wx, wh, bx, bh, h, v, zx, zh, 1)
        y[t] = _head(v, u, head_w, head_b) + (x[t] if residual else np.float32(0.0))


# ---- knob-conditioned: knobs (n, K) float32, C-contiguous; v[0] = x[t], v[1:1+K] = knobs[t]


@njit(fastmath=True, cache=True, error_model="numpy")
def lstm_kernel_k(x, knobs, y, ws, bs, hs, cs, v, z, head_w, head_b, residual):
    n_layers = len(ws)
    n_k = knobs.shape[1]
    for t in range(x.shape[0]):
        v[0] = x[t]
        for j in range(n_k):
            v[1 + j] = knobs[t, j]
        k_in = 1 + n_k
        for layer in range(n_layers):
            k_in = _lstm_cell(ws[layer], bs[layer], hs[layer], cs[layer], v, z, k_in)
        y[t] = _head(v, k_in, head_w, head_b) + (x[t] if residual else np.float32(0.0))


@njit(fastmath=True, cache=True, error_model="numpy")
def lstm_kernel_k_1(x, knobs, y, w, b, h, c, v, z, head_w, head_b, residual):
    n_k = knobs.shape[1]
    for t in range(x.shape[0]):
        v[0] = x[t]
        for j in range(n_k):
            v[1 + j] = knobs[t, j]
        u = _lstm_cell(w, b, h, c, v, z, 1 + n_k)
        y[t] = _head(v, u, head_w, head_b) + (x[t] if residual else np.float32(0.0))


@njit(fastmath=True, cache=True, error_model="numpy")
def gru_kernel_k(x, knobs, y, wxs, whs, bxs, bhs, hs, v, zx, zh, head_w, head_b, residual):
    n_layers = len(wxs)
    n_k = knobs.shape[1]
    for t in range(x.shape[0]):
        v[0] = x[t]
        for j in range(n_k):
            v[1 + j] = knobs[t, j]
        k_in = 1 + n_k
        for layer in range(n_layers):
            k_in = _gru_cell(wxs[layer], whs[layer], bxs[layer], bhs[layer], hs[layer], v, zx, zh, k_in)
        y[t] = _head(v, k_in, head_w, head_b) + (x[t] if residual else np.float32(0.0))


@njit(fastmath=True, cache=True, error_model="numpy")
def gru_kernel_k_1(x, knobs, y, wx, wh, bx, bh, h, v, zx, zh, head_w, head_b, residual):
    n_k = knobs.shape[1]
    for t in range(x.shape[0]):
        v[0] = x[t]
        for j in range(n_k):
            v[1 + j] = knobs[t, j]
        u = _gru_cell(wx, wh, bx, bh, h, v, zx, zh, 1 + n_k)
        y[t] = _head(v, u, head_w, head_b) + (x[t] if residual else np.float32(0.0))
