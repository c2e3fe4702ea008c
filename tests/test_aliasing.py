"""Aliasing over a grid of tones (fxlab.aliasing): exact bins, known nonlinearities, the excess."""

from __future__ import annotations

import numpy as np
import pytest

from fxlab import aliasing
from fxlab.effects import DriveEffect
from fxlab.errors import LengthMismatchError, NonFiniteError, ParameterError

SR = 44100


def test_tone_grid_is_odd_distinct_bins_across_the_range():
    bins = aliasing.tone_grid(SR)
    assert bins.size == 20 and np.all(bins % 2 == 1) and np.unique(bins).size == 20
    hz = bins * SR / aliasing.N_ANALYSIS
    assert 45 < hz[0] < 55 and 7900 < hz[-1] < 8100
    with pytest.raises(ParameterError, match="tone range"):
        aliasing.tone_grid(SR, hi_hz=15000)


def test_a_wire_has_no_aliasing_and_no_harmonics():
    a = aliasing.measure_aliasing(lambda x: x, sr=SR, levels_dbfs=[0.0], count=4)
    assert np.all(a.asr_db < -130)  # float32 rounding of the sine is all there is
    assert np.all(np.nan_to_num(a.harmonic_db[..., 1:], nan=-999) < -130)


def test_a_cube_folds_its_third_harmonic_and_a_square_adds_dc_and_h2():
    # x^3 = 3/4 sin - 1/4 sin(3 w t): at 8 kHz the 3rd harmonic (24 kHz) is above Nyquist and folds
    cube = aliasing.measure_aliasing(lambda x: x ** 3, sr=SR, levels_dbfs=[0.0], count=2, lo_hz=1000)
    assert cube.asr_db[0, 1] == pytest.approx(20 * np.log10(1 / 3), abs=0.01)
    assert cube.asr_db[0, 0] < -130  # at 1 kHz it is a harmonic, not an alias
    assert cube.harmonic_db[0, 0, 2] == pytest.approx(20 * np.log10(1 / 3), abs=0.01)
    # x + 0.1 x^2 = x + 0.05 - 0.05 cos(2 w t): DC and 2nd harmonic both 0.05 of the fundamental
    square = aliasing.measure_aliasing(lambda x: x + 0.1 * x ** 2, sr=SR, levels_dbfs=[0.0], count=2)
    assert np.allclose(square.harmonic_db[0, :, 1], 20 * np.log10(0.05), atol=0.01)
    assert np.allclose(square.dc_db[0], 20 * np.log10(0.05), atol=0.01)


def test_the_drive_oversampled_aliases_less_than_the_drive_at_the_sample_rate():
    kw = dict(sr=SR, levels_dbfs=[0.0], count=3, lo_hz=1000, hi_hz=6000)
    over = aliasing.measure_aliasing(lambda x: DriveEffect(gain_db=20.0)(x, SR), **kw)
    plain = aliasing.measure_aliasing(lambda x: DriveEffect(gain_db=20.0, oversample=1)(x, SR), **kw)
    assert np.all(plain.asr_db > over.asr_db + 10)
    ex = aliasing.excess(over, plain, level_dbfs=0.0)
    assert ex["asr_excess_db"] > 10 and ex["asr_worst_db_effect"] == pytest.approx(over.asr_db.max())
    assert aliasing.excess(over, over)["asr_excess_db"] <= 0
    assert aliasing.excess(over, over)["h2_excess_db"] <= 0
    table = str(aliasing.aliasing_table(over, {"plain": plain}))
    assert "plain" in table and "ASR excess" in table


def test_bad_inputs_are_refused_with_names():
    with pytest.raises(ParameterError, match="levels_dbfs"):
        aliasing.measure_aliasing(lambda x: x, sr=SR, levels_dbfs=[3.0], count=2)
    with pytest.raises(LengthMismatchError):
        aliasing.measure_aliasing(lambda x: x[:-1], sr=SR, levels_dbfs=[0.0], count=2)
    with pytest.raises(NonFiniteError):
        aliasing.measure_aliasing(lambda x: x * np.nan, sr=SR, levels_dbfs=[0.0], count=2)
    a = aliasing.measure_aliasing(lambda x: x, sr=SR, levels_dbfs=[0.0], count=2)
    b = aliasing.measure_aliasing(lambda x: x, sr=SR, levels_dbfs=[-6.0], count=2)
    with pytest.raises(ParameterError, match="other tones, levels"):
        aliasing.excess(a, b, name="b")
    with pytest.raises(ParameterError, match="-12 dBFS"):
        aliasing.excess(a, a, level_dbfs=-12.0)


def test_a_nonlinearity_run_oversampled_aliases_less_and_streams_as_a_whole():
    from fxlab.runtime.oversample import Oversampler, run_oversampled

    kw = dict(sr=SR, levels_dbfs=[0.0], count=3, lo_hz=2000, hi_hz=6000)
    plain = aliasing.measure_aliasing(lambda x: np.tanh(4 * x), **kw)
    over = aliasing.measure_aliasing(lambda x: run_oversampled(lambda u: np.tanh(4 * u), x, 2), **kw)
    assert np.all(over.asr_db < plain.asr_db - 10)
    x = np.random.default_rng(1).uniform(-0.5, 0.5, 4000).astype(np.float32)
    whole = run_oversampled(lambda u: u, x, 2)
    o = Oversampler(2)
    blocks = np.concatenate([o.down(o.up(x[i:i + 64])) for i in range(0, x.size, 64)])
    np.testing.assert_allclose(blocks, whole, atol=1e-6)
    tone = np.sin(2 * np.pi * 1000 * np.arange(8000) / SR).astype(np.float32)
    through = run_oversampled(lambda u: u, tone, 2)[4000:]
    assert abs(20 * np.log10(np.std(through) / np.std(tone[4000:]))) < 0.1  # passband: a wire
    with pytest.raises(ParameterError, match="oversampling factor"):
        Oversampler(3)
