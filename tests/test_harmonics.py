"""Harmonic and aliasing analysis (``fxlab.harmonics``): exact values from shapers whose Fourier
series is known, aliasing of the drive with and without oversampling, the table and figure
(``fxlab.plots.evaluation.plot_harmonics``), and every bad input as a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from fxlab import effects, harmonics
from fxlab.errors import FxlabError, LengthMismatchError, NonFiniteError, ParameterError
from fxlab.plots.evaluation import plot_harmonics

SR = 44100
LEVELS = (-24.0, -12.0, -6.0, 0.0)


def _amp(level_dbfs: float) -> float:
    return 10.0 ** (level_dbfs / 20.0)


def test_a_pure_sine_through_a_wire_has_no_distortion_and_no_aliasing():
    h = harmonics.measure_harmonics(lambda x: x, sr=SR)
    np.testing.assert_array_equal(h.levels_dbfs, LEVELS)
    assert h.f0_hz == 1000.0 and h.n * h.f0_hz / SR == round(h.n * h.f0_hz / SR)
    np.testing.assert_allclose(h.harmonic_dbfs[:, 0], LEVELS, atol=1e-4)  # the level in, out
    assert np.all(h.thd_db < -100) and np.all(h.thd_percent < 1e-5)
    assert np.all(h.aliasing_db < -100)
    assert np.all(h.harmonic_db[:, 1:] < -120)
    assert h.harmonic_db.shape == (4, 10) and h.spectrum_dbfs.shape == (4, h.freqs_hz.size)
    # the spectrum reads the sine's level at its bin
    peak = h.spectrum_dbfs[:, np.argmin(np.abs(h.freqs_hz - 1000.0))]
    np.testing.assert_allclose(peak, LEVELS, atol=1e-3)


def test_a_cube_gives_its_third_harmonic_at_exactly_a_third():
    # sin^3 = (3 sin - sin 3)/4: H3 = H1 / 3 at every level, nothing else
    h = harmonics.measure_harmonics(lambda x: x ** 3, sr=SR)
    np.testing.assert_allclose(h.harmonic_db[:, 2], 20 * np.log10(1 / 3), atol=1e-4)
    np.testing.assert_allclose(h.harmonic_dbfs[:, 0],
                               [20 * np.log10(0.75 * _amp(v) ** 3) for v in LEVELS], atol=1e-4)
    np.testing.assert_allclose(h.thd_percent, 100 / 3, rtol=1e-5)
    assert np.all(np.delete(h.harmonic_db[:, 1:], 1, axis=1) < -120)


def test_tanh_gives_odd_harmonics_at_their_fourier_values():
    gain = 3.0
    h = harmonics.measure_harmonics(lambda x: np.tanh(gain * x), sr=SR)
    assert np.all(h.harmonic_db[:, 1::2] < -80)  # H2, H4, ...: none
    # the reference: one period of tanh(g A sin) on a fine grid, its Fourier coefficients
    theta = 2 * np.pi * np.arange(1 << 14) / (1 << 14)
    for i, level in enumerate(LEVELS):
        c = np.abs(np.fft.rfft(np.tanh(gain * _amp(level) * np.sin(theta))))
        assert h.harmonic_db[i, 2] == pytest.approx(20 * np.log10(c[3] / c[1]), abs=1e-3)
        assert h.harmonic_db[i, 4] == pytest.approx(20 * np.log10(c[5] / c[1]), abs=1e-2)
    assert np.all(np.diff(h.thd_percent) > 0)  # louder in, more distortion


def test_an_asymmetric_shaper_gives_even_harmonics():
    # x + x^2/2: sin^2 = (1 - cos 2)/2, so H2 = A/4 relative to the fundamental; DC is not counted
    h = harmonics.measure_harmonics(lambda x: x + 0.5 * x ** 2, sr=SR)
    np.testing.assert_allclose(h.harmonic_db[:, 1], [20 * np.log10(_amp(v) / 4) for v in LEVELS],
                               atol=1e-4)
    assert np.all(h.harmonic_db[:, 2:] < -120) and np.all(h.aliasing_db < -100)
    drive = effects.get_effect("drive", gain_db=20.0, tone=1.0, shape="asymmetric")
    assert np.all(harmonics.measure_harmonics(lambda x: drive(x, SR), sr=SR)
                  .harmonic_db[1:, 1] > -40)


def test_a_harmonic_above_nyquist_counts_as_aliasing():
    # a 5th harmonic of 5 kHz (25 kHz) at -20 dB re the fundamental folds to 19.1 kHz
    def fn(x):
        return x + 0.1 * np.sin(2 * np.pi * 25000.0 * np.arange(x.size) / SR).astype(np.float32)

    h = harmonics.measure_harmonics(fn, sr=SR, f0_hz=5000.0, levels_dbfs=[0.0])
    assert np.all(np.isnan(h.harmonic_db[0, 4:]))  # 25 kHz and up: not harmonics
    assert h.harmonic_db[0, 1:4].max() < -120 and h.thd_db[0] < -100
    assert h.aliasing_db[0] == pytest.approx(10 * np.log10(0.005 / 0.505), abs=1e-3)


def test_the_drive_aliases_less_when_oversampled():
    def aliasing_db(f0, r):
        drive = effects.get_effect("drive", gain_db=30.0, tone=1.0, level_db=0.0, oversample=r)
        return float(harmonics.measure_harmonics(lambda x: drive(x, SR), sr=SR, f0_hz=f0,
                                                 levels_dbfs=[0.0]).aliasing_db[0])

    assert aliasing_db(1000.0, 1) > -35  # -27 dB measured
    assert aliasing_db(1000.0, 4) < aliasing_db(1000.0, 1) - 30  # -71 dB measured
    assert aliasing_db(5000.0, 8) < aliasing_db(5000.0, 4) - 10 < aliasing_db(5000.0, 1) - 20


def test_a_fundamental_off_the_bins_is_moved_onto_one():
    h = harmonics.measure_harmonics(lambda x: x, sr=SR, f0_hz=1000.3, levels_dbfs=[-6.0])
    assert abs(h.f0_hz - 1000.3) <= SR / h.n / 2
    cycles = h.f0_hz * h.n / SR
    assert cycles == pytest.approx(round(cycles), abs=1e-6)
    assert h.thd_db[0] < -100 and h.aliasing_db[0] < -100


def test_analyse_tone_on_a_recorded_signal():
    t = np.arange(SR) / SR
    y = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 1320 * t)).astype(np.float32)
    a = harmonics.analyse_tone(y, sr=SR, f0_hz=440.0, n_harmonics=5)
    assert a.coherent and a.n % 2205 == 0  # 440 / 44100 = 22 / 2205
    assert a.harmonic_db[2] == pytest.approx(-20.0, abs=1e-3)
    assert a.harmonic_dbfs[0] == pytest.approx(20 * np.log10(0.5), abs=1e-3)
    assert a.thd_percent == pytest.approx(10.0, rel=1e-4)
    # 0.045 s holds no whole period of the sampled sine (0.05 s): the windowed analysis, close
    b = harmonics.analyse_tone(y, sr=SR, f0_hz=440.0, settle_s=0.0, measure_s=0.045)
    assert not b.coherent and b.harmonic_db[2] == pytest.approx(-20.0, abs=0.05)


def test_comparison_table_and_figure(tmp_path):
    target = harmonics.measure_harmonics(lambda x: np.tanh(3 * x), sr=SR, levels_dbfs=[-12, 0])
    model = harmonics.measure_harmonics(lambda x: np.tanh(2.5 * x), sr=SR, levels_dbfs=[-12, 0])
    diff = harmonics.harmonic_difference(target, model)
    assert diff.shape == (2, 10) and np.all(diff[:, 0] == 0)
    assert np.all(diff[:, 2] < -1)  # less gain, a weaker 3rd harmonic
    same = harmonics.harmonic_difference(target, target)
    assert np.all(same[:, [0, 2, 4]] == 0) and np.all(np.isnan(same[:, 1]))  # H2: none in either
    even = harmonics.measure_harmonics(lambda x: np.tanh(3 * x + 0.1), sr=SR, levels_dbfs=[-12, 0])
    raised = harmonics.harmonic_difference(target, even)[:, 1]  # from the floor, -120 dB
    np.testing.assert_allclose(raised, even.harmonic_db[:, 1] + 120)
    assert np.all(harmonics.harmonic_difference(target, even, floor_db=None)[:, 1] > 100)
    assert "&gt; " in harmonics.harmonics_table(target, even)  # a bound, not a number
    table = harmonics.harmonics_table(target, {"lstm": model, "gru": target})
    assert table.count("<tr>") == 1 + 2 * 5  # header, then per level: target, 2 x (model, diff)
    assert "lstm - target" in table and "H10 (dB)" in table and "&lt; -120" in table
    fig = plot_harmonics(target, model, title="tanh", caption="a check")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    fig.savefig(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 10_000
    at_12 = plot_harmonics(target, model, spectrum_level_dbfs=-12)
    assert "at -12 dBFS in" in at_12.axes[-1].get_title()  # the spectra drawn are the level asked
    assert "at 0 dBFS in" in fig.axes[-1].get_title()  # default: the loudest level
    doc = target.to_dict()
    assert doc["f0_hz"] == 1000.0 and len(doc["harmonic_db"]) == 2 and "spectrum_dbfs" not in doc


@pytest.mark.parametrize(("call", "error", "pattern"), [
    (dict(f0_hz=22050.0), ParameterError, r"f0_hz.*22050 Hz.*below Nyquist"),
    (dict(f0_hz=30000.0), ParameterError, "Nyquist"),
    (dict(f0_hz=0.0), ParameterError, "f0_hz"),
    (dict(f0_hz=float("nan")), ParameterError, "f0_hz"),
    (dict(levels_dbfs=[-6.0, 3.0]), ParameterError, r"3 dBFS.*<= 0 dBFS"),
    (dict(levels_dbfs=[float("nan")]), ParameterError, "levels_dbfs"),
    (dict(levels_dbfs=[]), ParameterError, "non-empty"),
    (dict(levels_dbfs="loud"), ParameterError, "levels_dbfs"),
    (dict(n_harmonics=1), ParameterError, r"n_harmonics.*\[2, 200\]"),
    (dict(settle_s=-1.0), ParameterError, "settle_s"),
    (dict(measure_s=0.0), ParameterError, "measure_s"),
    (dict(guard_bins=1), ParameterError, "guard_bins"),
    (dict(f0_hz=20.0, measure_s=0.1), ParameterError, r"measure_s.*at least 0.5 s"),
    (dict(sr=0), ParameterError, "sr"),
    (dict(fn=lambda x: x[:-1]), LengthMismatchError, r"at -24 dBFS.*shape \(26460,\)"),
    (dict(fn=lambda x: np.full_like(x, np.nan)), NonFiniteError, r"-24 dBFS.*26460 NaN"),
    (dict(fn="drive"), ParameterError, "callable"),
])
def test_bad_input_is_a_clear_error(call, error, pattern):
    kwargs = {"fn": lambda x: x, "sr": SR} | call
    with pytest.raises(error, match=pattern) as info:
        harmonics.measure_harmonics(kwargs.pop("fn"), **kwargs)
    assert "Fix:" in str(info.value)


def test_mismatched_measurements_and_levels_are_clear_errors():
    a = harmonics.measure_harmonics(lambda x: x, sr=SR, levels_dbfs=[-6.0])
    b = harmonics.measure_harmonics(lambda x: x, sr=SR, levels_dbfs=[0.0])
    c = harmonics.measure_harmonics(lambda x: x, sr=SR, f0_hz=500.0, levels_dbfs=[-6.0])
    with pytest.raises(ParameterError, match=r"levels 0 dBFS.*levels -6 dBFS"):
        harmonics.harmonic_difference(a, b)
    with pytest.raises(ParameterError, match="f0_hz=500"):
        harmonics.harmonics_table(a, {"lstm": c})
    with pytest.raises(ParameterError, match=r"level_dbfs.*measured levels -6"):
        plot_harmonics(a, a, spectrum_level_dbfs=0.0)
    with pytest.raises(ParameterError, match="mapping name -> Harmonics"):
        harmonics.harmonics_table(a, [a])
    with pytest.raises(FxlabError, match="NaN"):
        harmonics.analyse_tone(np.array([0.0, np.nan] * 4000), sr=SR, f0_hz=1000.0)
