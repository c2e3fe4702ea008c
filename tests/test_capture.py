"""Capturing a user's own effect: causal latency found exactly through linear and nonlinear
effects, a given latency honoured, an unrelated pair refused, the drive pedal."""

from __future__ import annotations

import numpy as np
import pytest

from fxlab import audio, pairs
from fxlab.effects import get_effect
from fxlab.errors import ParameterError, UnrelatedPairError
from fxlab.signals import make_chunk

SR = audio.STUDY_SR

EFFECTS = {
    "lowpass": {"name": "lowpass", "cutoff_hz": 1000.0, "order": 2},
    "highpass": {"name": "highpass", "cutoff_hz": 440.0, "order": 2},
    "resonant": {"name": "peaking", "freq_hz": 1000.0, "gain_db": 18.0, "q": 8.0},
    "drive": {"name": "drive", "gain_db": 18.0, "tone_hz": 3000.0, "level_db": -6.0},
}


def _effect(kind):
    spec = dict(EFFECTS[kind])
    return get_effect(spec.pop("name"), **spec)


def _delay(x: np.ndarray, d: int) -> np.ndarray:
    return np.concatenate([np.zeros(d, x.dtype), x[: x.size - d]])


@pytest.fixture(scope="module")
def dry() -> np.ndarray:
    return make_chunk("pink", n=SR // 2, sr=SR, seed=3)


@pytest.mark.parametrize("latency", [0, 1, 37, 500])
@pytest.mark.parametrize("kind", list(EFFECTS))
def test_latency_is_the_onset_exactly(dry, kind, latency):
    """The peak of a low-pass's response comes samples after its onset; the onset is found."""
    wet = _delay(_effect(kind)(dry, SR), latency)
    est = pairs.estimate_latency(dry, wet, max_lag=SR // 2)
    assert est.samples == latency
    assert est.peak_lag >= est.samples
    assert est.relatedness > (0.9 if kind != "drive" else 0.5)  # 256 taps: Q 8 rings longer


def test_zero_latency_lowpass_pair_is_not_shifted(tmp_path, dry):
    """The cross-correlation's peak of a low-passed pair is its group delay, not latency."""
    wet = _effect("lowpass")(dry, SR)
    assert pairs.estimate_latency(dry, wet, max_lag=1000).peak_lag > 0
    audio.write_wav(tmp_path / "d.wav", dry, SR)
    audio.write_wav(tmp_path / "w.wav", wet, SR)
    p = pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav")
    assert p.offset_samples == 0 and p.n == dry.size
    np.testing.assert_array_equal(p.wet, wet)
    assert p.latency is not None and p.latency.samples == 0


def test_given_latency_is_used_and_checked(tmp_path, dry):
    wet = _delay(_effect("highpass")(dry, SR), 37)
    audio.write_wav(tmp_path / "d.wav", dry, SR)
    audio.write_wav(tmp_path / "w.wav", wet, SR)
    p = pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav", latency=40)
    assert p.offset_samples == 40 and p.latency is None
    np.testing.assert_array_equal(p.wet, wet[40:])
    with pytest.raises(ParameterError, match="align"):
        pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav", latency=37, align="off")
    with pytest.raises(ParameterError, match="whole number"):
        pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav", latency=3.5)


def test_unrelated_pair_is_refused_in_plain_words(tmp_path, dry):
    other = make_chunk("pink", n=SR // 2, sr=SR, seed=99)
    audio.write_wav(tmp_path / "d.wav", dry, SR)
    audio.write_wav(tmp_path / "w.wav", other, SR)
    with pytest.raises(UnrelatedPairError, match="does not look like the dry signal") as info:
        pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav")
    assert str(tmp_path / "w.wav") in str(info.value)


def test_drive_clips_softly_and_filters():
    x = np.linspace(-1, 1, 4001, dtype=np.float32)
    drive = get_effect("drive", gain_db=30.0, tone_hz=5000.0, level_db=0.0)
    assert not drive.is_linear
    y = drive(x, 48000)[50:]  # after the tone filter's start-up from silence
    assert np.max(np.abs(y)) <= 1.0 + 1e-6 and np.max(np.abs(y)) > 0.99  # saturates at full scale
    quiet = get_effect("drive", gain_db=0.0, level_db=-6.0)(0.01 * np.sin(np.arange(SR) * 0.01), SR)
    assert np.max(np.abs(quiet)) == pytest.approx(0.005, rel=0.05)  # clean and 6 dB down
    with pytest.raises(ParameterError, match="gain_db"):
        get_effect("drive", gain_db=90.0)
    with pytest.raises(ParameterError, match="one of its parameters"):
        get_effect("drive", drive=3)
