"""fxlab.metrics against hand-computed values on small arrays, and fxlab.evaluation on real
figures."""

import numpy as np
import pytest
from scipy import signal as sps

from fxlab import metrics, response
from fxlab.errors import (
    FxlabError,
    LengthMismatchError,
    NonFiniteError,
    ParameterError,
    SilenceError,
    UnknownNameError,
)
from fxlab.plots.common import save_figure
from fxlab.plots.evaluation import (
    plot_band_errors,
    plot_model_comparison,
    plot_responses,
    plot_spectra,
    plot_spectrograms,
    plot_time_comparison,
)

SR = 44100


@pytest.fixture
def noise():
    return np.random.default_rng(0).uniform(-0.5, 0.5, SR).astype(np.float32)


# ------------------------------------------------------------------ sample-domain errors


def test_mse_and_esr_by_hand():
    t = np.array([1.0, -1.0, 0.5, 0.0])
    o = np.array([0.5, -1.0, 0.0, 0.25])
    # errors 0.5, 0, 0.5, -0.25 -> squares 0.25, 0, 0.25, 0.0625 (sum 0.5625)
    assert metrics.mse(t, o) == pytest.approx(0.5625 / 4)
    # target energy 1 + 1 + 0.25 = 2.25
    assert metrics.esr(t, o) == pytest.approx(0.5625 / 2.25)
    assert metrics.snr_db(t, o) == pytest.approx(10 * np.log10(2.25 / 0.5625))


def test_esr_of_a_signal_against_itself_is_zero(noise):
    assert metrics.esr(noise, noise) == 0.0
    assert metrics.mse(noise, noise) == 0.0
    assert metrics.snr_db(noise, noise) == float("inf")


def test_esr_of_silent_output_is_one(noise):
    assert metrics.esr(noise, np.zeros_like(noise)) == pytest.approx(1.0)
    assert metrics.snr_db(noise, np.zeros_like(noise)) == pytest.approx(0.0, abs=1e-12)


def test_esr_of_silent_target_raises_with_the_fix(noise):
    with pytest.raises(SilenceError, match="target: found a silent signal.*Fix:"):
        metrics.esr(np.zeros(100), noise[:100])
    with pytest.raises(SilenceError):
        metrics.snr_db(np.zeros(100), np.zeros(100))


def test_accuracy_12bit_boundary_is_strict():
    step = 2.0**-12
    assert step == pytest.approx(0.000244, abs=1e-6)  # the thesis's number
    t = np.zeros(4, dtype=np.float32)
    o = np.array([0.0, step, np.nextafter(np.float32(step), np.float32(0)), -2 * step],
                 dtype=np.float32)
    # exactly one step is not accurate; just under one step is
    assert metrics.accuracy_12bit(t, o) == pytest.approx(2 / 4)
    assert metrics.accuracy_12bit(t, o, step=2 * step) == pytest.approx(3 / 4)


@pytest.mark.parametrize("bad, error", [
    ((np.zeros(3), np.zeros(4)), LengthMismatchError),
    ((np.zeros((2, 3)), np.zeros((2, 3))), ParameterError),
    ((np.array([0.0, np.nan]), np.zeros(2)), NonFiniteError),
    ((np.zeros(0), np.zeros(0)), ParameterError),
])
def test_bad_inputs_raise_fxlab_errors(bad, error):
    with pytest.raises(error, match="Fix:"):
        metrics.mse(*bad)


# ------------------------------------------------------------------ spectra


def test_log_spectral_distance_of_half_gain_is_6_02_db(noise):
    assert metrics.log_spectral_distance(noise, noise, sr=SR) == 0.0
    assert metrics.log_spectral_distance(noise, 0.5 * noise, sr=SR) == pytest.approx(6.0206, abs=1e-3)
    assert metrics.log_spectral_distance(noise, 2.0 * noise, sr=SR) == pytest.approx(6.0206, abs=1e-3)


def test_log_spectral_distance_sees_a_filtered_band(noise):
    b, a = sps.butter(1, 440, "highpass", fs=SR)
    y = sps.lfilter(b, a, noise)
    lsd = metrics.log_spectral_distance(y, noise, sr=SR)
    # the high-pass removes up to 27 dB at 20 Hz, over a few % of the bins: between 1 and 6 dB RMS
    assert 1.0 < lsd < 6.0


def test_log_spectral_distance_ignores_what_the_target_lacks():
    # a target band-limited to 5 kHz and an output with a quiet hiss above: the floor at
    # 80 dB below the target's peak keeps the empty band from dominating
    rng = np.random.default_rng(1)
    b, a = sps.butter(8, 5000, "lowpass", fs=SR)
    t = sps.lfilter(b, a, rng.standard_normal(SR)) * 0.3
    o = t + 1e-6 * rng.standard_normal(SR)
    assert metrics.log_spectral_distance(t, o, sr=SR) < 1.0
    assert metrics.log_spectral_distance(t, o, sr=SR, dynamic_range_db=None) > 5.0


def test_third_octave_bands(noise):
    c = metrics.third_octave_centers()
    assert c.size == 31
    assert c[0] == pytest.approx(19.95, abs=0.01) and c[-1] == pytest.approx(19953, rel=1e-4)
    assert c[10] == pytest.approx(199.5, rel=1e-3)
    be = metrics.third_octave_band_errors(noise, 0.5 * noise, sr=SR)
    np.testing.assert_allclose(be.error_db, -6.0206, atol=1e-3)
    d = be.as_dict()
    assert len(d) == 31 and d["band_1e+03Hz"] == pytest.approx(-6.0206, abs=1e-3)


def test_third_octave_band_errors_locate_a_highpass(noise):
    b, a = sps.butter(1, 440, "highpass", fs=SR)
    be = metrics.third_octave_band_errors(noise, sps.lfilter(b, a, noise), sr=SR)
    _, h = sps.freqz(b, a, worN=be.centers_hz, fs=SR)
    # band errors follow the filter's response at the band centres within 0.5 dB
    np.testing.assert_allclose(be.error_db, 20 * np.log10(np.abs(h)), atol=0.5)


def test_multi_resolution_stft_distance(noise):
    assert metrics.multi_resolution_stft_distance(noise, noise) == 0.0
    half = metrics.multi_resolution_stft_distance(noise, 0.5 * noise)
    # spectral convergence 0.5 + log-magnitude difference log10(2), at every resolution
    assert half == pytest.approx(0.5 + np.log10(2.0), abs=1e-4)
    with pytest.raises(ParameterError):
        metrics.multi_resolution_stft_distance(noise, noise, fft_sizes=(8,))


def test_spectral_metrics_need_a_sample_rate(noise):
    with pytest.raises(ParameterError, match="sr"):
        metrics.log_spectral_distance(noise, noise, sr=0)
    with pytest.raises(ParameterError, match="f_lo"):
        metrics.log_spectral_distance(noise, noise, sr=SR, f_lo=30000)


# ------------------------------------------------------------------ magnitude response


@pytest.mark.parametrize("method", ["sweep", "impulse"])
def test_measure_response_recovers_a_biquad_within_0_1_db(method):
    b, a = sps.butter(2, 440, "highpass", fs=SR)  # a biquad, 12 dB/octave

    def system(x):
        return sps.lfilter(b, a, x).astype(np.float32)

    r = response.measure_response(system, sr=SR, level_dbfs=-12.0, method=method)
    _, h = sps.freqz(b, a, worN=r.freqs_hz, fs=SR)
    true_db = 20 * np.log10(np.abs(h))
    assert r.freqs_hz[0] == pytest.approx(20.0) and r.freqs_hz[-1] < 20000
    assert np.max(np.abs(r.magnitude_db - true_db)) < 0.1
    assert r.at(440.0) == pytest.approx(-3.01, abs=0.1)
    assert r.level_dbfs == -12.0 and r.method == method


def test_measure_response_of_a_peaking_biquad():
    b, a = sps.iirpeak(1000.0, 2.0, fs=SR)
    r = response.measure_response(lambda x: sps.lfilter(b, a, x), sr=SR, points_per_octave=24)
    _, h = sps.freqz(b, a, worN=r.freqs_hz, fs=SR)
    assert np.max(np.abs(r.magnitude_db - 20 * np.log10(np.abs(h)))) < 0.1


def test_response_deviation_below_and_above_cutoff():
    b, a = sps.butter(1, 440, "highpass", fs=SR)
    r = response.measure_response(lambda x: 0.5 * sps.lfilter(b, a, x), sr=SR, method="impulse")
    _, h = sps.freqz(b, a, worN=r.freqs_hz, fs=SR)
    true_db = 20 * np.log10(np.abs(h))
    dev = response.response_deviation(r, true_db, cutoff_hz=440.0)
    assert dev.below_db == pytest.approx(6.02, abs=0.1)
    assert dev.above_db == pytest.approx(6.02, abs=0.1)
    # a response that only deviates above the cutoff
    shifted = np.where(r.freqs_hz >= 440.0, true_db - 3.0, true_db - 6.0206)
    dev2 = response.response_deviation(r, shifted, cutoff_hz=440.0)
    assert dev2.below_db < 0.1 and dev2.above_db == pytest.approx(3.02, abs=0.1)
    with pytest.raises(LengthMismatchError):
        response.response_deviation(r, true_db[:-1], cutoff_hz=440.0)


@pytest.mark.parametrize("kwargs, error", [
    ({"method": "chirp"}, UnknownNameError),
    ({"level_dbfs": 3.0}, ParameterError),
    ({"n": 10}, ParameterError),
])
def test_measure_response_rejects_bad_settings(kwargs, error):
    with pytest.raises(error):
        response.measure_response(lambda x: x, sr=SR, **kwargs)


def test_measure_response_rejects_a_system_that_changes_length():
    with pytest.raises(LengthMismatchError, match="system output"):
        response.measure_response(lambda x: x[:-1], sr=SR, method="impulse")
    with pytest.raises(FxlabError):
        response.measure_response(lambda x: x * np.nan, sr=SR, method="impulse")


# ------------------------------------------------------------------ plots


def test_plots_return_figures_with_log_hz_axes(tmp_path, noise):
    b, a = sps.butter(1, 440, "highpass", fs=SR)
    y = sps.lfilter(b, a, noise).astype(np.float32)
    o = (y + 0.01 * noise).astype(np.float32)
    fig = plot_spectra(y, o, sr=SR, title="spectra", caption="a caption")
    ax = fig.axes[-1]
    assert ax.get_xscale() == "log" and ax.get_xlim() == (20.0, 20000.0)
    assert ax.get_xlabel() == "frequency (Hz)"
    assert fig._suptitle.get_text() == "spectra"
    r = response.measure_response(lambda x: sps.lfilter(b, a, x), sr=SR, method="impulse")
    _, h = sps.freqz(b, a, worN=r.freqs_hz, fs=SR)
    fig = plot_responses({"m": r}, reference_freqs_hz=r.freqs_hz,
                         reference_db=20 * np.log10(np.abs(h)), cutoff_hz=440.0)
    assert fig.axes[0].get_xscale() == "log"
    assert any("-3 dB at 440 Hz" in t.get_text() for t in fig.axes[0].texts)
    fig = plot_model_comparison({"lstm": 1e-4}, metric="MSE",
                                reference_values={"LSTM": 7.9e-5})
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["lstm", "LSTM (thesis)"]
    for i, f in enumerate([plot_time_comparison(y, o, sr=SR),
                           plot_spectrograms(y, o, sr=SR),
                           plot_band_errors({"m": metrics.third_octave_band_errors(y, o, sr=SR)})]):
        p = save_figure(f, tmp_path / "f" / f"{i}.png")
        assert p.stat().st_size > 10_000 and p.read_bytes()[:4] == b"\x89PNG"


def test_stft_magnitude_is_the_framed_hann_fft(noise):
    """librosa's STFT (frames not centred) equals framing by hand with a periodic Hann window."""
    x = np.asarray(noise, np.float64)[:5000]
    n, hop = 512, 128
    frames = 1 + (x.size - n) // hop
    idx = np.arange(n)[None, :] + hop * np.arange(frames)[:, None]
    by_hand = np.abs(np.fft.rfft(x[idx] * np.hanning(n + 1)[:-1], axis=-1)).T
    got = metrics._stft_mag(x, n, hop)
    assert got.shape == by_hand.shape == (n // 2 + 1, frames)
    np.testing.assert_allclose(got, by_hand, rtol=1e-9, atol=1e-9)


def test_spectrogram_figure_has_a_log_frequency_axis_and_db_colour_bars(noise):
    fig = plot_spectrograms(noise, 0.5 * noise, sr=SR)
    bars = [ax for ax in fig.axes if ax.get_title() in ("re FS", "difference")]
    panels = [ax for ax in fig.axes if ax.get_title() and ax not in bars]
    assert [ax.get_yscale() for ax in panels] == ["log"] * 3
    assert len(bars) == 2
    assert all(b.yaxis.get_major_formatter().fmt == "%+2.0f dB" for b in bars)
    # output at half the level: the difference panel reads -6 dB
    diff = panels[2].collections[0].get_array()
    assert float(np.ma.median(diff)) == pytest.approx(-6.02, abs=0.05)
