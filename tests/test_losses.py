"""fxlab.losses against values computed by hand on small arrays."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from fxlab import losses
from fxlab.errors import ParameterError, UnknownNameError

T = np.array([[0.5, -0.25, 1.0, 0.0], [0.25, 0.5, -0.5, 0.75]], np.float32)[..., None]
P = np.array([[0.25, -0.25, 0.5, 0.25], [0.0, 0.5, -0.25, 0.5]], np.float32)[..., None]


def test_mse_esr_dc_by_hand():
    err = (T - P)[..., 0]
    assert float(losses.mse(T, P)) == pytest.approx(np.mean(err**2))
    # ESR: sum of squared errors 0.0625+0+0.25+0.0625+0.0625+0+0.0625+0.0625 = 0.5625
    # over signal energy 0.25+0.0625+1+0+0.0625+0.25+0.25+0.5625 = 2.4375
    assert float(losses.esr(T, P)) == pytest.approx(0.5625 / 2.4375, rel=1e-6)
    # DC: segment means of the error 0.5/4 and 0.25/4 -> mean of squares / mean energy
    dc = np.mean([(0.5 / 4) ** 2, (0.25 / 4) ** 2]) / (2.4375 / 8)
    assert float(losses.dc(T, P)) == pytest.approx(dc, rel=1e-6)


def test_esr_with_pre_emphasis_by_hand():
    c = 0.5
    te = T[:, 1:, 0] - c * T[:, :-1, 0]
    pe = P[:, 1:, 0] - c * P[:, :-1, 0]
    want = np.sum((te - pe) ** 2) / np.sum(te**2)
    assert float(losses.esr_pre_emphasis(T, P, coef=c)) == pytest.approx(want, rel=1e-6)
    # first segment, by hand: te = [-0.5, 1.125, -0.5], pe = [-0.375, 0.625, 0.0]
    assert te[0].tolist() == [-0.5, 1.125, -0.5]


def test_windowed_batches_are_one_sequence():
    t, p = T[0], P[0]  # [4, 1]: four output samples of a windowed model
    assert float(losses.esr(t, p)) == pytest.approx(np.sum((t - p) ** 2) / np.sum(t**2), rel=1e-6)


def _mrstft_numpy(t, p, sizes):
    total = 0.0
    for n in sizes:
        win = scipy.signal.get_window("hann", n)  # periodic Hann, as keras.ops.stft uses
        def mag(x, n=n, win=win):
            frames = np.lib.stride_tricks.sliding_window_view(x, n, axis=-1)[..., :: n // 4, :]
            s = np.fft.rfft(frames * win, axis=-1)
            return np.sqrt(np.abs(s) ** 2 + losses.EPS)
        st, sp = mag(t), mag(p)
        sc = np.sqrt(np.sum((st - sp) ** 2)) / (np.sqrt(np.sum(st**2)) + losses.EPS)
        total += sc + np.mean(np.abs(np.log(st) - np.log(sp)))
    return total / len(sizes)


def test_mrstft_matches_a_numpy_computation():
    rng = np.random.default_rng(0)
    t = rng.uniform(-1, 1, (2, 256)).astype(np.float32)
    p = (0.8 * t + 0.05 * rng.normal(size=t.shape)).astype(np.float32)
    got = float(losses.mrstft(t[..., None], p[..., None], fft_sizes=(32, 64)))
    assert got == pytest.approx(_mrstft_numpy(t, p, (32, 64)), rel=1e-4)
    assert float(losses.mrstft(t[..., None], t[..., None], fft_sizes=(32, 64))) == pytest.approx(0.0, abs=1e-6)


def test_composite_weights_and_warmup():
    loss = losses.CompositeLoss("0.75*esr+0.25*dc", warmup=1)
    t, p = T[:, 1:], P[:, 1:]
    want = 0.75 * float(losses.esr(t, p)) + 0.25 * float(losses.dc(t, p))
    assert float(loss(T, P)) == pytest.approx(want, rel=1e-6)
    # an error confined to the warm-up costs nothing
    p2 = T.copy()
    p2[:, 0] += 1.0
    assert float(loss(T, p2)) == 0.0
    again = losses.CompositeLoss.from_config(loss.get_config())
    assert again.terms == {"esr": 0.75, "dc": 0.25} and again.warmup == 1


def test_parse_loss():
    assert losses.parse_loss("esr") == {"esr": 1.0}
    assert losses.parse_loss("0.75*esr_pre + 0.25*dc") == {"esr_pre": 0.75, "dc": 0.25}
    assert losses.parse_loss({"mse": 2}) == {"mse": 2.0}


@pytest.mark.parametrize(("spec", "error"), [
    ("esrr", UnknownNameError), ("0*esr", ParameterError), ("esr+*dc", ParameterError), ("", ParameterError),
])
def test_bad_loss_specs_fail_with_fxlab_errors(spec, error):
    with pytest.raises(error, match="Fix"):
        losses.parse_loss(spec)


def test_bad_warmup_and_coefficient():
    with pytest.raises(ParameterError, match="warmup"):
        losses.CompositeLoss("esr", warmup=-1)
    with pytest.raises(ParameterError, match="pre_emphasis"):
        losses.CompositeLoss("esr_pre", pre_emphasis=1.0)
