"""Capturing a user's own effect: causal latency found exactly through linear and nonlinear
effects, a given latency honoured, an unrelated pair refused, the drive pedal."""

from __future__ import annotations

import numpy as np
import pytest

from fxlab import audio
from fxlab.capture import alignment, pairs
from fxlab.effects import get_effect
from fxlab.errors import LatencyUncertainError, ParameterError, UnrelatedPairError
from fxlab.signals import make_chunk

SR = audio.STUDY_SR

EFFECTS = {
    "lowpass": {"name": "lowpass", "cutoff_hz": 1000.0, "order": 2},
    "highpass": {"name": "highpass", "cutoff_hz": 440.0, "order": 2},
    "resonant": {"name": "peaking", "freq_hz": 1000.0, "gain_db": 18.0, "q": 8.0},
    # tone 0.5638: a 3 kHz low-pass; no oversampling (its anti-aliasing filters start so softly
    # that their first taps read as 3 samples of latency: a limit stated in fxlab.pairs)
    "drive": {"name": "drive", "gain_db": 18.0, "tone": 0.5638, "level_db": -6.0, "oversample": 1},
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
    est = alignment.estimate_latency(dry, wet, max_lag=SR // 2)
    assert est.samples == latency
    assert est.peak_lag >= est.samples
    assert est.relatedness > (0.9 if kind != "drive" else 0.5)  # 256 taps: Q 8 rings longer


def test_zero_latency_lowpass_pair_is_not_shifted(tmp_path, dry):
    """The cross-correlation's peak of a low-passed pair is its group delay, not latency."""
    wet = _effect("lowpass")(dry, SR)
    assert alignment.estimate_latency(dry, wet, max_lag=1000).peak_lag > 0
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


@pytest.mark.parametrize(("esr", "words"), [(0.005, "great"), (0.02, "not bad"),
                                            (0.05, "may sound OK"), (0.5, "poor")])
def test_grade_words_on_the_stated_scale(esr, words):
    from fxlab.capture.report import grade

    g = grade(esr)
    assert g["words"].startswith(words) and "0.035" in g["scale"] and g["text"].startswith(
        f"held-out ESR {esr:.3g}")


def test_grade_advice_follows_the_evidence():
    from fxlab.capture.report import grade

    at_floor = grade(0.02, floor=0.015, summary={"best_epoch": 5, "epochs_run": 5,
                                                 "stopped": "time budget"})
    assert any("floor" in a for a in at_floor["advice"])
    assert not any("train longer" in a for a in at_floor["advice"])
    still = grade(0.02, summary={"best_epoch": 5, "epochs_run": 5, "stopped": "time budget"})
    assert any("train longer" in a for a in still["advice"])
    overfit = grade(0.05, history=[{"loss": 0.01, "val_loss": 0.05}])
    assert any("more, and more varied" in a for a in overfit["advice"])
    louder = grade(0.005, report={"train_dry_peak_dbfs": -12.0, "heldout_dry_peak_dbfs": -3.0})
    assert any("louder" in a for a in louder["advice"])
    stuck = grade(0.005, silence={"falls_silent": False, "after_silence_dbfs": -7.0,
                                  "relative_db": 4.0, "floor_dbfs": -90.0, "probe": "piano"})
    assert stuck["words"].startswith("poor") and "does not fall silent" in stuck["text"]
    assert stuck["silence"]["probe"] == "piano"


class _Latching:
    """A real (if tiny) recurrent system with a second fixed point: a leaky integrator whose
    state, once pushed past 1, holds at 2 after the input stops -- the failure a stateless
    segment-trained LSTM can show."""

    def predict(self, x):
        y = np.empty(len(x), np.float32)
        s = 0.0
        for i, v in enumerate(np.asarray(x, np.float64)):
            s = 0.9 * s + v if s < 1.0 else 2.0
            y[i] = s
        return y


class _Filter:
    def predict(self, x):
        from scipy.signal import lfilter

        return lfilter([0.5], [1.0, -0.5], np.asarray(x, np.float64)).astype(np.float32)


def test_silence_check_finds_a_model_that_holds_its_output_after_the_input_stops():
    from fxlab.capture.report import silence_check

    x = make_chunk("pink", n=SR // 2, sr=SR, seed=3)
    for model, silent in ((_Filter(), True), (_Latching(), False)):
        wet = _Filter().predict(x)
        r = silence_check(model, x, wet, sr=SR, train_peak_dbfs=-6.0)
        assert r["falls_silent"] is silent, r
        assert (r["after_silence_dbfs"] < -100) is silent and r["probe"]


def test_pair_report_levels_wire_and_two_takes(tmp_path, dry):
    from fxlab.capture.report import format_report, pair_report

    drive = _effect("drive")
    wet = _delay(drive(dry, SR), 37)
    noise = 1e-3 * np.random.default_rng(0).standard_normal(dry.size).astype(np.float32)
    audio.write_wav(tmp_path / "d.wav", dry, SR)
    audio.write_wav(tmp_path / "w.wav", wet, SR, subtype="FLOAT")
    audio.write_wav(tmp_path / "w2.wav", wet + noise, SR, subtype="FLOAT")
    with pytest.raises(LatencyUncertainError):  # a drive, from noise: not measured with confidence
        pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav")
    p1 = pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav", latency=37)
    p2 = pairs.load_pair(tmp_path / "d.wav", tmp_path / "w2.wav", latency=37)
    rep = pair_report(p1, wet2=p2, train_fraction=0.8)
    assert rep["latency_samples"] == 37 and p2.offset_samples == 37
    assert rep["dry"]["peak_dbfs"] == pytest.approx(audio.peak_dbfs(dry), abs=0.01)
    expected = float(np.sum(noise[37:] ** 2) / np.sum(wet[37:].astype(np.float64) ** 2))
    assert rep["two_takes_esr"] == pytest.approx(expected, rel=0.05)
    assert rep["floor_esr"] == pytest.approx(rep["two_takes_esr"] / 2)
    wire = float(np.sum((wet[37:] - dry[:-37]) ** 2.0) / np.sum(wet[37:] ** 2.0))
    assert rep["esr_vs_wire"] == pytest.approx(wire, rel=1e-3)
    text = "\n".join(format_report(rep))
    assert "extrapolation" in text and "floor" in text  # (relatedness: measured only)


def test_fxlab_train_reports_aligns_and_grades(tmp_path, capsys):
    import argparse
    import json

    from fxlab.capture import command

    x = make_chunk("pink", n=SR, sr=SR, seed=21)
    wet = _delay(_effect("lowpass")(x, SR), 37)
    audio.write_wav(tmp_path / "d.wav", x, SR)
    audio.write_wav(tmp_path / "w.wav", wet, SR, subtype="FLOAT")
    audio.write_wav(tmp_path / "w2.wav", wet + 1e-3 * np.random.default_rng(1).standard_normal(
        SR).astype(np.float32), SR, subtype="FLOAT")
    parser = command.add_train_arguments(argparse.ArgumentParser())
    out = tmp_path / "mine"
    args = parser.parse_args(["--dry", str(tmp_path / "d.wav"), "--wet", str(tmp_path / "w.wav"),
                              "--wet2", str(tmp_path / "w2.wav"), "--out", str(out),
                              "--epochs", "1", "--units", "4", "--segment", "1024",
                              "--batch-size", "8"])
    assert command.run_train_command(args) == 0
    printed = capsys.readouterr().out
    assert "latency +37 samples" in printed and "grade: held-out ESR" in printed
    assert "the pair is linear" in printed and "--model graybox" in printed  # the recommendation
    assert json.loads((out / "alignment.json").read_text())["latency_samples"] == 37
    assert (out / "alignment.png").stat().st_size > 1000
    assert json.loads((out / "pair.json").read_text())["latency_samples"] == 37
    assert json.loads((out / "data_report.json").read_text())["floor_esr"] > 0
    g = json.loads((out / "grade.json").read_text())
    assert g["esr"] > 0 and g["words"] and g["floor"] > 0
    assert set(g["silence"]) == {"falls_silent", "after_silence_dbfs", "relative_db", "floor_dbfs",
                                 "probe"}
    args = parser.parse_args(["--dry", str(tmp_path / "d.wav"), "--wet", str(tmp_path / "w.wav"),
                              "--out", str(out), "--align", "check"])
    from fxlab.errors import MisalignmentError

    with pytest.raises(MisalignmentError, match="37 samples"):
        command.run_train_command(args)


def test_fxlab_train_graybox_fits_a_linear_pair_with_the_linear_eq(tmp_path, capsys):
    import argparse
    import json

    from fxlab.capture import command
    from fxlab.training import load_trained

    x = make_chunk("pink", n=int(2.5 * SR), sr=SR, seed=22)
    wet = _delay(_effect("lowpass")(x, SR), 37)
    audio.write_wav(tmp_path / "d.wav", x, SR)
    audio.write_wav(tmp_path / "w.wav", wet, SR, subtype="FLOAT")
    parser = command.add_train_arguments(argparse.ArgumentParser())
    out = tmp_path / "eq"
    args = parser.parse_args(["--dry", str(tmp_path / "d.wav"), "--wet", str(tmp_path / "w.wav"),
                              "--out", str(out), "--model", "graybox", "--epochs", "2",
                              "--export", "graybox"])
    assert command.run_train_command(args) == 0
    printed = capsys.readouterr().out
    assert "the linear EQ alone (the pair is linear)" in printed
    assert "recommended" not in printed  # it is the recommended model already
    tm = load_trained(out)
    assert tm.config["model"]["shaper"] == 0
    report = json.loads((out / "data_report.json").read_text())
    assert report["linear"] and report["linear_fit_esr"] < 1e-4
    assert json.loads((out / "grade.json").read_text())["esr"] < 1e-4
    assert (out / "export").is_dir() and any((out / "export").glob("*.graybox.json"))


def test_shipped_recordings_load_as_mono_at_the_rate_asked():
    from fxlab import recordings
    from fxlab.errors import UnknownNameError

    names = recordings.list_recordings("instrument")
    assert len(names) >= 5 and recordings.list_recordings("speech") == ["speech"]
    for name in recordings.list_recordings():
        assert recordings.recording_path(name).is_file()
    x = recordings.load_recording("guitar_em9", sr=SR, peak_dbfs=-6.0)
    assert x.ndim == 1 and x.dtype == np.float32 and x.size > 9 * SR
    assert audio.peak_dbfs(x) == pytest.approx(-6.0, abs=1e-3)
    speech = recordings.load_recording("speech", sr=SR)
    assert speech.size == 4 * SR  # 4.0 s at 16 kHz, resampled
    assert (recordings.recording_path("piano").parent / "COPYING").is_file()
    with pytest.raises(UnknownNameError, match="guitar_em9"):
        recordings.load_recording("banjo")


def test_a_noisy_but_related_pair_is_not_called_unrelated(dry):
    """Relatedness is measured on the signals as they are: 40 dB of hiss on the wet file leaves
    it ~1 (whitened, the hiss dominated and a real pair read as unrelated)."""
    from fxlab.recordings import load_recording

    x = load_recording("guitar_em9", sr=SR, peak_dbfs=-6.0)[: 4 * SR]
    wet = _delay(_effect("resonant")(x, SR), 37)
    hiss = np.random.default_rng(2).standard_normal(wet.size).astype(np.float32)
    wet = wet + hiss * float(np.sqrt(np.mean(wet**2))) * 10 ** (-40 / 20)
    est = alignment.estimate_latency(x, wet, max_lag=SR // 2)
    assert est.relatedness > 0.99
    assert est.samples == 37


def test_an_onset_buried_in_noise_is_flagged_weak(tmp_path):
    """One guitar chord (very predictable) through a 1 kHz low-pass (tiny first taps) with 40 dB
    of hiss: the first taps cannot be told from the noise; the estimate says so."""
    from fxlab.recordings import load_recording

    x = load_recording("guitar_em9", sr=SR, peak_dbfs=-6.0)[: 4 * SR]
    wet = _delay(_effect("lowpass")(x, SR), 37)
    hiss = np.random.default_rng(3).standard_normal(wet.size).astype(np.float32)
    wet = wet + hiss * float(np.sqrt(np.mean(wet**2))) * 10 ** (-40 / 20)
    audio.write_wav(tmp_path / "d.wav", x, SR)
    audio.write_wav(tmp_path / "w.wav", wet, SR, subtype="FLOAT")
    est = alignment.estimate_latency(x, wet, max_lag=SR // 2)
    assert est.weak and 0 < est.samples <= est.peak_lag
    with pytest.raises(LatencyUncertainError, match="weakly determined") as info:
        pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav")  # not applied: asked
    assert f"{est.samples:+d} samples" in str(info.value) and "--latency N" in str(info.value)


def test_two_takes_that_differ_are_flagged(tmp_path, dry):
    """Two takes of one dry signal that differ by more than ESR 0.01: the gear does not sound
    like itself, and the report says so (a tenth of the level in hiss: ESR ~0.01-0.02 would not)."""
    from fxlab.capture.report import SELF_ESR_LIMIT, format_report, pair_report

    wet = _effect("lowpass")(dry, SR)
    rms = float(np.sqrt(np.mean(wet.astype(np.float64) ** 2)))
    hiss = np.random.default_rng(4).standard_normal(dry.size).astype(np.float32)
    audio.write_wav(tmp_path / "d.wav", dry, SR)
    audio.write_wav(tmp_path / "w.wav", wet, SR, subtype="FLOAT")
    for scale, flagged in ((0.3, True), (0.03, False)):
        audio.write_wav(tmp_path / "w2.wav", wet + scale * rms * hiss, SR, subtype="FLOAT")
        rep = pair_report(pairs.load_pair(tmp_path / "d.wav", tmp_path / "w.wav", latency=0),
                          wet2=pairs.load_pair(tmp_path / "d.wav", tmp_path / "w2.wav", latency=0))
        assert (rep["two_takes_esr"] > SELF_ESR_LIMIT) is flagged
        assert any("does not sound like itself" in line for line in format_report(rep)) is flagged
