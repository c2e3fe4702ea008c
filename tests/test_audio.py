"""fxlab.audio: real WAV files round-trip, resampling, signal checks, offset estimation on
high-passed material, and every bad input of load_pair raising its own error naming the file."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from fxlab import audio
from fxlab.capture import alignment, pairs
from fxlab.effects import STUDY_EFFECT, effect_from_spec
from fxlab.errors import (
    AudioFileError,
    ChannelError,
    ClippingError,
    FxlabError,
    LengthMismatchError,
    MisalignmentError,
    NonFiniteError,
    ParameterError,
    SampleRateError,
    SilenceError,
    UnknownNameError,
)
from fxlab.signals import make_chunk

SR = audio.STUDY_SR
HIGHPASS = effect_from_spec(STUDY_EFFECT)


def _speech_like(n: int, seed: int = 0) -> np.ndarray:
    """A voiced-speech stand-in: a gliding 100-140 Hz sawtooth through two formant band-passes,
    with a 4 Hz syllable envelope (energy mostly below 1.5 kHz, like speech)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    f0 = 120 + 20 * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 2 * np.pi))
    src = scipy.signal.sawtooth(2 * np.pi * np.cumsum(f0) / SR)
    b1, a1 = scipy.signal.butter(2, [500, 900], "bandpass", fs=SR)
    b2, a2 = scipy.signal.butter(2, [1100, 1600], "bandpass", fs=SR)
    voiced = scipy.signal.lfilter(b1, a1, src) + 0.5 * scipy.signal.lfilter(b2, a2, src)
    x = voiced * np.sin(np.pi * 4 * t) ** 2
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def _delay(x: np.ndarray, d: int) -> np.ndarray:
    """``x`` delayed by ``d`` samples (advanced when negative), same length, zero-filled."""
    if d >= 0:
        return np.concatenate([np.zeros(d, x.dtype), x[: x.size - d]])
    return np.concatenate([x[-d:], np.zeros(-d, x.dtype)])


@pytest.fixture
def dry() -> np.ndarray:
    return make_chunk("pink", n=SR // 2, sr=SR, seed=11)


@pytest.fixture
def pair(tmp_path, dry):
    """A good pair on disk: pink noise and its study-effect output."""
    d, w = tmp_path / "dry.wav", tmp_path / "wet.wav"
    audio.write_wav(d, dry, SR)
    audio.write_wav(w, HIGHPASS(dry, SR), SR)
    return d, w


# ------------------------------------------------------------------------------ files


@pytest.mark.parametrize("subtype", ["FLOAT", "PCM_24", "PCM_16"])
def test_wav_round_trip(tmp_path, dry, subtype):
    path = audio.write_wav(tmp_path / "sub" / "deeper" / "x.wav", dry, SR, subtype=subtype)
    assert path.exists()
    x, sr = audio.read_wav(path, sr=SR)
    assert sr == SR and x.dtype == np.float32 and x.shape == dry.shape
    tol = {"FLOAT": 0.0, "PCM_24": 2.0**-23, "PCM_16": 2.0**-15}[subtype]
    assert np.max(np.abs(x - dry)) <= tol
    assert sf.info(str(path)).subtype == subtype


def test_float_wavs_carry_no_time_of_writing(tmp_path, dry):
    # libsndfile's PEAK chunk holds the time of writing: the same samples written a second apart
    # gave other bytes, and a session id built on file hashes changed between runs
    path = audio.write_wav(tmp_path / "x.wav", dry, SR)
    assert b"PEAK" not in path.read_bytes()
    with audio.wav_writer(tmp_path / "y.wav", SR) as dst:
        dst.write(dry[:1000])
        dst.write(dry[1000:])
    assert (tmp_path / "y.wav").read_bytes() == path.read_bytes()


def test_read_any_rate_with_sr_none(tmp_path, dry):
    audio.write_wav(tmp_path / "x.wav", dry, 48000)
    x, sr = audio.read_wav(tmp_path / "x.wav")
    assert sr == 48000 and x.shape == dry.shape


def test_read_wrong_rate_names_file_rates_and_fix(tmp_path, dry):
    path = tmp_path / "at48k.wav"
    audio.write_wav(path, dry, 48000)
    with pytest.raises(SampleRateError) as info:
        audio.read_wav(path, sr=SR)
    msg = str(info.value)
    assert str(path) in msg and "48000" in msg and "44100" in msg
    assert "fxlab.audio.resample" in msg and "sr=" in msg


def test_stereo_refused_mixed_or_chosen(tmp_path):
    left = np.linspace(-0.5, 0.5, 1000, dtype=np.float32)
    right = -0.25 * np.ones(1000, np.float32)
    path = audio.write_wav(tmp_path / "stereo.wav", np.stack([left, right]), SR)
    with pytest.raises(ChannelError) as info:
        audio.read_wav(path)
    assert str(path) in str(info.value) and 'mono="mix"' in str(info.value)
    mixed, _ = audio.read_wav(path, mono="mix")
    np.testing.assert_allclose(mixed, (left + right) / 2, atol=1e-7)
    np.testing.assert_array_equal(audio.read_wav(path, mono=1)[0], right)
    both, _ = audio.read_wav(path, mono=False)
    assert both.shape == (2, 1000)
    with pytest.raises(ChannelError, match="0..1"):
        audio.read_wav(path, mono=2)


@pytest.mark.parametrize("make", ["missing", "folder", "not_audio"])
def test_unreadable_files(tmp_path, make):
    path = tmp_path / "thing.wav"
    if make == "folder":
        path.mkdir()
    elif make == "not_audio":
        path.write_text("this is text, not audio")
    with pytest.raises(AudioFileError) as info:
        audio.read_wav(path)
    assert str(path) in str(info.value) and "Fix:" in str(info.value)


def test_write_refuses_nan_and_pcm_overload(tmp_path):
    x = np.zeros(100, np.float32)
    x[40] = np.nan
    with pytest.raises(NonFiniteError, match="sample 40"):
        audio.write_wav(tmp_path / "nan.wav", x, SR)
    loud = np.full(100, 1.5, np.float32)
    with pytest.raises(ClippingError, match="PCM_16"):
        audio.write_wav(tmp_path / "loud.wav", loud, SR, subtype="PCM_16")
    audio.write_wav(tmp_path / "loud_float.wav", loud, SR)  # float keeps it
    assert audio.read_wav(tmp_path / "loud_float.wav")[0].max() == 1.5


@pytest.mark.parametrize(("sr_in", "sr_out"), [(48000, 44100), (22050, 44100), (44100, 16000)])
def test_resample_keeps_a_sine(sr_in, sr_out):
    f = 1000.0
    t = np.arange(sr_in) / sr_in
    x = (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)
    y = audio.resample(x, sr_in, sr_out)
    assert y.dtype == np.float32 and y.size == pytest.approx(sr_out, abs=1)
    t_out = np.arange(y.size) / sr_out
    ref = 0.5 * np.sin(2 * np.pi * f * t_out)
    mid = slice(y.size // 4, 3 * y.size // 4)  # away from the edges
    assert np.max(np.abs(y[mid] - ref[mid])) < 1e-3  # same sine, same phase (no added delay)


def test_resample_stereo_and_identity():
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 4800)).astype(np.float32)
    y = audio.resample(x, 48000, 44100)
    assert y.shape == (2, 4410)
    np.testing.assert_array_equal(audio.resample(x, 44100, 44100), x)
    with pytest.raises(ParameterError, match="sr_out"):
        audio.resample(x, 48000, 0)


# ------------------------------------------------------------------------------ checks


def test_check_signal_passes_good_signal_and_returns_peak(dry):
    assert audio.check_signal(dry, name="dry") == pytest.approx(-6.02, abs=0.01)


@pytest.mark.parametrize(
    ("damage", "error", "pattern"),
    [
        ("nan", NonFiniteError, "1 NaN samples, the first at sample 1234"),
        ("inf", NonFiniteError, "inf samples, the first at sample 1234"),
        ("silent", SilenceError, "peak -86.0 dBFS; expected a peak above -60 dBFS"),
        ("clipped", ClippingError, "2 run\\(s\\).*7 samples in all.*first at sample 1234"),
    ],
)
def test_check_signal_failures(dry, damage, error, pattern):
    x = dry.copy()
    if damage == "nan":
        x[1234] = np.nan
    elif damage == "inf":
        x[1234] = np.inf
        x[2000] = -np.inf
    elif damage == "silent":
        x *= 1e-4  # peak -86 dBFS
    else:
        x[1234:1238] = 1.0  # 4 samples at full scale
        x[3000:3003] = -0.9995  # 3 more
        x[5000] = 1.0  # a single full-scale peak is not clipping
    with pytest.raises(error, match=pattern) as info:
        audio.check_signal(x, name="take1.wav", sr=SR)
    assert str(info.value).startswith("take1.wav:")


def test_two_full_scale_samples_are_not_clipping(dry):
    x = dry.copy()
    x[100:102] = 1.0
    audio.check_signal(x, name="x")


# ------------------------------------------------------------------------------ offsets


@pytest.mark.parametrize("shift", [37, -250, 0, 1])
@pytest.mark.parametrize("material", ["pink", "brown", "speech"])
@pytest.mark.parametrize("order", [1, 2])
def test_estimate_offset_of_highpassed_signal(material, shift, order):
    n = SR // 2
    x = _speech_like(n) if material == "speech" else make_chunk(material, n=n, sr=SR, seed=5)
    wet = effect_from_spec({"name": "highpass", "params": {"cutoff_hz": 440.0, "order": order}})(
        _delay(x, shift), SR)
    assert alignment.estimate_offset(x, wet, max_lag=1000) == shift
    assert alignment.estimate_offset(wet, x, max_lag=1000) == -shift


def test_estimate_offset_with_different_lengths_and_latency():
    x = make_chunk("white", n=SR // 4, sr=SR, seed=2)
    wet = np.concatenate([np.zeros(64, np.float32), HIGHPASS(x, SR)])  # 64 samples of latency
    assert alignment.estimate_offset(x, wet, max_lag=500) == 64


# ------------------------------------------------------------------------------ load_pair


def test_load_pair_good(pair, dry):
    p = pairs.load_pair(*pair)
    assert isinstance(p, pairs.AudioPair)
    assert p.sr == SR and p.offset_samples == 0 and p.n == dry.size
    np.testing.assert_array_equal(p.dry, dry)
    np.testing.assert_array_equal(p.wet, HIGHPASS(dry, SR))
    assert p.dry_path == pair[0] and p.wet_path == pair[1]
    assert any("no offset" in note for note in p.notes)
    assert pairs.load_pair(*pair, sr=SR, align="check").offset_samples == 0
    assert pairs.load_pair(*pair, align="off").notes[-1].startswith("alignment not checked")


@pytest.mark.parametrize("shift", [37, -250])
@pytest.mark.parametrize("material", ["pink", "speech"])
def test_load_pair_correct_aligns(tmp_path, material, shift):
    """A measured latency is removed; a wet that leads is a finding, removed only when given."""
    n = SR // 2
    x = _speech_like(n, seed=3) if material == "speech" else make_chunk("pink", n=n, sr=SR,
                                                                        seed=4)
    clean = HIGHPASS(x, SR)
    audio.write_wav(tmp_path / "d.wav", x, SR)
    audio.write_wav(tmp_path / "w.wav", _delay(clean, shift), SR)
    if shift < 0:
        with pytest.raises(MisalignmentError, match=f"answers {-shift} samples"):
            pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav")
    p = pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav",
                        latency=shift if shift < 0 else None)
    assert p.offset_samples == shift
    assert p.dry.size == p.wet.size == n - abs(shift)
    # aligned: wet is exactly the effect of dry, sample for sample
    if shift > 0:
        np.testing.assert_array_equal(p.wet, clean[: n - shift])
        np.testing.assert_array_equal(p.dry, x[: n - shift])
    else:
        np.testing.assert_array_equal(p.dry, x[-shift:])
        np.testing.assert_array_equal(p.wet, clean[-shift:])
    assert any(f"by {abs(shift)} samples" in note for note in p.notes)


def test_load_pair_correct_accepts_latency_padding(tmp_path, dry):
    audio.write_wav(tmp_path / "d.wav", dry, SR)
    wet = np.concatenate([np.zeros(128, np.float32), HIGHPASS(dry, SR)])
    audio.write_wav(tmp_path / "w.wav", wet, SR)
    p = pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav")
    assert p.offset_samples == 128 and p.n == dry.size
    np.testing.assert_array_equal(p.wet, HIGHPASS(dry, SR))
    with pytest.raises(LengthMismatchError):  # the same files are refused without correcting
        pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav", align="off")


def _write_bad_pair(tmp_path, dry, case):
    """Write a pair with one defect; return (dry_path, wet_path, the path the message names)."""
    d, w = tmp_path / "dry.wav", tmp_path / "wet.wav"
    wet = HIGHPASS(dry, SR)
    audio.write_wav(d, dry, SR)
    audio.write_wav(w, wet, SR)
    blamed = w
    if case == "wrong_rate":
        audio.write_wav(w, wet, 48000)
    elif case == "stereo":
        audio.write_wav(w, np.stack([wet, wet]), SR)
    elif case == "lengths":
        audio.write_wav(w, wet[:-1000], SR)
    elif case == "nan":
        bad = wet.copy()
        bad[777] = np.nan
        audio.write_wav(d, dry, SR)
        sf.write(str(w), bad, SR, subtype="FLOAT")  # write_wav refuses NaN itself
    elif case == "inf":
        bad = wet.copy()
        bad[777] = np.inf
        sf.write(str(w), bad, SR, subtype="FLOAT")
    elif case == "silent":
        audio.write_wav(d, dry * 1e-5, SR)
        blamed = d
    elif case == "clipped":
        audio.write_wav(d, np.clip(dry * 4, -1, 1), SR)
        blamed = d
    elif case == "misaligned":
        audio.write_wav(w, _delay(wet, 37), SR)
    elif case == "missing":
        w.unlink()
    return d, w, blamed


@pytest.mark.parametrize(
    ("case", "kwargs", "error", "pattern"),
    [
        ("wrong_rate", {}, SampleRateError, "44100 Hz \\(dry\\) and 48000 Hz \\(wet\\)"),
        ("wrong_rate", {"sr": SR}, SampleRateError, "sample rate 48000 Hz; expected 44100"),
        ("stereo", {}, ChannelError, "2 channels"),
        ("lengths", {}, LengthMismatchError, "22050 samples \\(dry\\) and 21050 samples"),
        ("lengths", {"align": "check"}, LengthMismatchError, "difference of -1000 samples"),
        ("lengths", {"align": "off"}, LengthMismatchError, "difference of -1000 samples"),
        ("nan", {}, NonFiniteError, "NaN samples, the first at sample 777"),
        ("inf", {}, NonFiniteError, "inf samples, the first at sample 777"),
        ("silent", {}, SilenceError, "dBFS"),
        ("clipped", {}, ClippingError, "consecutive samples"),
        ("misaligned", {"align": "check"}, MisalignmentError, "wet lags dry by 37 samples"),
        ("misaligned", {"align": "check", "tolerance": 10}, MisalignmentError, "at most 10"),
        ("missing", {}, AudioFileError, "no such file"),
    ],
)
def test_load_pair_bad_input(tmp_path, dry, case, kwargs, error, pattern):
    d, w, blamed = _write_bad_pair(tmp_path, dry, case)
    with pytest.raises(error, match=pattern) as info:
        pairs.load_pair(d, w, **kwargs)
    msg = str(info.value)
    assert str(blamed) in msg
    assert "found" in msg and "expected" in msg and "Fix:" in msg
    assert isinstance(info.value, FxlabError)


def test_load_pair_misaligned_within_tolerance_passes(tmp_path, dry):
    d, w, _ = _write_bad_pair(tmp_path, dry, "misaligned")
    assert pairs.load_pair(d, w, align="check", tolerance=40).offset_samples == 37


def test_load_pair_offset_beyond_search_range(tmp_path, dry):
    audio.write_wav(tmp_path / "d.wav", dry, SR)
    audio.write_wav(tmp_path / "w.wav", _delay(HIGHPASS(dry, SR), 600), SR)
    with pytest.raises(MisalignmentError, match="max_offset_s"):
        pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav", max_offset_s=0.01)


def test_load_pair_stereo_can_be_mixed(tmp_path, dry):
    audio.write_wav(tmp_path / "d.wav", np.stack([dry, dry]), SR)
    audio.write_wav(tmp_path / "w.wav", HIGHPASS(dry, SR), SR)
    p = pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav", mono="mix")
    np.testing.assert_allclose(p.dry, dry, atol=1e-7)


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"align": "fix"}, UnknownNameError), ({"tolerance": -1}, ParameterError),
    ({"max_offset_s": -0.1}, ParameterError), ({"sr": 0}, ParameterError),
])
def test_load_pair_bad_arguments(pair, kwargs, error):
    with pytest.raises(error):
        pairs.load_pair(*pair, **kwargs)
