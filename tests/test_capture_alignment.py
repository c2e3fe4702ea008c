"""A capture that cannot fool itself: pairs through a drive with a tone filter, the oversampled
drive and a compressor, at true latencies 0, 1, 37 and 500 samples. From the reamp signal the
latency is exact in every case; from arbitrary material it is exact, or a little early (the
model then keeps a delay, never a look-ahead), or refused with a request -- never late, never
negative. A wet that leads the dry is refused as a finding, and the reamp signal's own checks
(clicks that disagree, a recording cut short, an edited file) name the file and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from fxlab import audio
from fxlab.capture import pairs, reamp
from fxlab.effects import get_effect
from fxlab.errors import (
    LatencyUncertainError,
    LengthMismatchError,
    MisalignmentError,
    ParameterError,
)

SR = audio.STUDY_SR
EFFECTS = {
    # tone 0.25: a 1.1 kHz tone low-pass, not oversampled
    "drive_tone": {"name": "drive", "gain_db": 20.0, "tone": 0.25, "level_db": -6.0, "oversample": 1},
    # oversampled 4x: elliptic anti-aliasing filters, the response starts at -130 dB
    "drive_oversampled": {"name": "drive", "gain_db": 20.0, "tone": 0.5, "level_db": -6.0},
    "compressor": {"name": "pedalboard.Compressor", "threshold_db": -24.0, "ratio": 4.0,
                   "attack_ms": 5.0, "release_ms": 100.0},
}
LATENCIES = (0, 1, 37, 500)


def _effect(kind):
    spec = dict(EFFECTS[kind])
    return get_effect(spec.pop("name"), **spec)


def _delay(x: np.ndarray, d: int) -> np.ndarray:
    return np.concatenate([np.zeros(d, np.float32), x[: x.size - d]]).astype(np.float32)


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    """12 s of real recordings, at two levels: arbitrary material."""
    from fxlab.recordings import load_recording

    gap = np.zeros(SR // 4, np.float32)
    a = load_recording("guitar_em9", sr=SR, peak_dbfs=-6.0)[: 4 * SR]
    b = load_recording("tabla", sr=SR, peak_dbfs=-12.0)[: 4 * SR]
    c = load_recording("guitar_slide", sr=SR, peak_dbfs=-3.0)
    return np.concatenate([a, gap, b, gap, c])


@pytest.fixture(scope="module")
def reamp_dry() -> tuple[np.ndarray, reamp.ReampLayout]:
    return reamp.reamp_signal(seconds=reamp.MIN_SECONDS, sr=SR)


@pytest.fixture(scope="module")
def wet_of():
    """effect kind -> its output on a signal (cached: each effect runs once per signal)."""
    cache: dict = {}

    def get(kind: str, x: np.ndarray) -> np.ndarray:
        key = (kind, x.size)
        if key not in cache:
            cache[key] = _effect(kind)(x, SR)
        return cache[key]

    return get


def _write(tmp_path, dry, wet):
    audio.write_wav(tmp_path / "dry.wav", dry, SR, subtype="FLOAT")
    audio.write_wav(tmp_path / "wet.wav", wet, SR, subtype="FLOAT")
    return tmp_path / "dry.wav", tmp_path / "wet.wav"


@pytest.mark.parametrize("latency", LATENCIES)
@pytest.mark.parametrize("kind", list(EFFECTS))
def test_the_reamp_signal_gives_the_latency_exactly(tmp_path, reamp_dry, wet_of, kind, latency):
    dry, layout = reamp_dry
    d, w = _write(tmp_path, dry, _delay(wet_of(kind, dry), latency))
    p = pairs.load_pair(d, w)
    assert p.reamp == layout and p.latency is None
    assert p.offset_samples == latency and p.clicks.per_click == [latency] * reamp.N_CLICKS
    assert p.clicks.clean and p.clicks.margin == 0
    np.testing.assert_array_equal(p.wet[:1000], wet_of(kind, dry)[:1000])  # in step
    assert any("reamp signal" in n for n in p.notes)


@pytest.mark.parametrize("latency", LATENCIES)
@pytest.mark.parametrize("kind", list(EFFECTS))
def test_arbitrary_material_is_exact_early_or_refused_never_late(tmp_path, music, wet_of, kind,
                                                                 latency):
    d, w = _write(tmp_path, music, _delay(wet_of(kind, music), latency))
    try:
        p = pairs.load_pair(d, w)
    except LatencyUncertainError as e:  # asking: says what it would have shifted, and the fix
        assert "--latency N" in str(e) and "reamp-signal" in str(e) and str(w) in str(e)
        return
    assert latency - reamp.SAFETY_MARGIN <= p.offset_samples <= latency
    assert p.offset_samples >= 0


def test_the_oversampled_drive_is_asked_not_shifted_late(tmp_path, music, wet_of):
    """Measured from music, the oversampled drive's soft onset reads 3-4 samples late: the
    capture refuses to apply it and says so."""
    d, w = _write(tmp_path, music, wet_of("drive_oversampled", music))
    with pytest.raises(LatencyUncertainError, match="predict the future") as info:
        pairs.load_pair(d, w)
    assert "not linear" in str(info.value)
    p = pairs.load_pair(d, w, latency=0)  # the fix it names works
    assert p.offset_samples == 0


def test_a_wet_that_leads_the_dry_is_refused_as_a_finding(tmp_path, music):
    """A wet recording moved 8 samples early (a DAW's delay compensation): refused, never applied
    (applying it builds an 8-sample delay into the model); swapped files likewise."""
    wet = get_effect("peaking", freq_hz=800.0, gain_db=6.0, q=2.0)(0.5 * music, SR)
    music = 0.5 * music
    early = np.concatenate([wet[8:], np.zeros(8, np.float32)])
    d, w = _write(tmp_path, music, early)
    with pytest.raises(MisalignmentError, match="answers 8 samples") as info:
        pairs.load_pair(d, w)
    assert "swapped" in str(info.value) and "--latency -8" in str(info.value)
    p = pairs.load_pair(d, w, latency=-8)  # when the user says so, it is applied
    assert p.offset_samples == -8
    late = np.concatenate([np.zeros(12, np.float32), wet[:-12]])
    audio.write_wav(tmp_path / "late.wav", late, SR, subtype="FLOAT")
    with pytest.raises(MisalignmentError, match="answers 12 samples"):
        pairs.load_pair(tmp_path / "late.wav", d)  # files swapped: the "wet" comes first


def test_a_weak_zero_is_taken(tmp_path, music, wet_of):
    """The drive with its tone filter reads 0 from music, weakly: 0 is taken (no shift never asks
    the model to predict the future)."""
    d, w = _write(tmp_path, music, wet_of("drive_tone", music))
    p = pairs.load_pair(d, w)
    assert p.offset_samples == 0
    if p.latency.weak:
        assert any("0 taken" in n for n in p.notes)


def test_reamp_clicks_on_a_noisy_background_take_a_safety_margin(reamp_dry):
    dry, layout = reamp_dry
    wet = _delay(get_effect("lowpass", cutoff_hz=3000.0, order=2)(dry, SR), 37)
    wet = wet + 1e-5 * np.random.default_rng(0).standard_normal(wet.size).astype(np.float32)
    al = reamp.align_from_clicks(wet, layout)
    assert not al.clean and al.margin == reamp.SAFETY_MARGIN
    assert 37 - reamp.SAFETY_MARGIN <= al.samples <= 37  # early, never late
    assert max(al.per_click) - min(al.per_click) <= reamp.CLICK_AGREEMENT


def test_reamp_refusals_name_the_file_and_the_fix(tmp_path, reamp_dry):
    dry, layout = reamp_dry
    wet = get_effect("highpass", cutoff_hz=100.0)(dry, SR)
    drift = wet.copy()
    c = layout.clicks[-1]
    drift[c - 2000:] = np.concatenate([np.zeros(9, np.float32), wet[c - 2000:-9]])  # 9 samples lost
    with pytest.raises(MisalignmentError, match="clicks answered at") as info:
        reamp.align_from_clicks(drift, layout, name="take.wav")
    assert "take.wav" in str(info.value) and "drifts" in str(info.value)
    with pytest.raises(MisalignmentError, match="before each click"):
        reamp.align_from_clicks(np.concatenate([wet[3:], np.zeros(3, np.float32)]), layout)
    silent = wet.copy()
    silent[: layout.train[0]] = 0.0
    with pytest.raises(MisalignmentError, match="no response"):
        reamp.align_from_clicks(silent, layout)
    d, w = _write(tmp_path, dry, wet[: layout.takes[1][0]])
    with pytest.raises(LengthMismatchError, match="last validation take"):
        pairs.load_pair(d, w)
    edited = dry.copy()
    edited[layout.train[0]:layout.train[0] + SR] *= 0.5
    with pytest.raises(ParameterError, match="reamp-signal"):
        reamp.recognise(edited, SR, name="edited.wav")


def test_reamp_signal_layout_and_levels(reamp_dry):
    dry, layout = reamp_dry
    assert dry.size == layout.n == int(reamp.MIN_SECONDS * SR) and dry.dtype == np.float32
    np.testing.assert_array_equal(dry[layout.clicks[0] - SR // 2:layout.clicks[0]], 0.0)
    assert float(dry[layout.clicks[1]]) == reamp.CLICK_AMPLITUDE
    (a0, a1), (b0, b1) = layout.takes
    np.testing.assert_array_equal(dry[a0:a1], dry[b0:b1])  # two takes of one stretch
    body = dry[layout.train[0]:layout.train[1]]
    assert -1.5 < audio.peak_dbfs(body) <= -0.9  # the loudest recordings at -1 dBFS
    assert reamp.recognise(dry, SR) == layout
    assert reamp.recognise(dry[::-1].copy(), SR) is None
    assert reamp.recognise(np.zeros(10, np.float32), SR) is None
    with pytest.raises(ParameterError, match="at least"):
        reamp.reamp_signal(seconds=5)
    with pytest.raises(ParameterError, match="rate"):
        reamp.reamp_signal(sr=8000)


def test_fxlab_train_on_the_reamp_signal_end_to_end(tmp_path, reamp_dry, capsys):
    """`fxlab reamp-signal`, the gear (a drive, 37 samples late, recorded 24-bit with a tail),
    `fxlab train`: latency from the clicks, the signal's own splits and noise floor, a grade that
    says its frame and level range, and an export whose card and metadata carry both."""
    import json

    import soundfile as sf

    from fxlab.cli import main

    dry_path = tmp_path / "reamp.wav"
    assert main(["reamp-signal", str(dry_path), "--seconds", "40", "--rate", str(SR)]) == 0
    assert "calibration clicks" in capsys.readouterr().out
    dry, sr = sf.read(dry_path, dtype="float32")
    layout = reamp.recognise(dry, sr)
    assert layout is not None and sr == SR
    wet = _delay(_effect("drive_tone")(dry, SR), 37)
    wet = np.concatenate([wet, np.zeros(SR // 2, np.float32)])  # a bounce with a tail
    audio.write_wav(tmp_path / "gear.wav", wet, SR, subtype="PCM_24")
    out = tmp_path / "mine"
    assert main(["train", "--dry", str(dry_path), "--wet", str(tmp_path / "gear.wav"),
                 "--out", str(out), "--epochs", "1", "--units", "4", "--segment", "1024",
                 "--batch-size", "8", "--export", "rtneural"]) == 0
    printed = capsys.readouterr().out
    assert "from the reamp signal's 3 clicks" in printed and "latency +37 samples" in printed
    pair = json.loads((out / "pair.json").read_text())
    assert pair["latency_samples"] == 37 and pair["latency_from"] == "reamp clicks"
    assert pair["splits"] == {"train": list(layout.train), "val": list(layout.takes[0])}
    align = json.loads((out / "alignment.json").read_text())
    assert align["per_click"] == [37, 37, 37] and align["clean_background"]
    assert (out / "alignment.png").stat().st_size > 1000
    report = json.loads((out / "data_report.json").read_text())
    assert report["two_takes_esr"] < 1e-9  # a digital effect sounds exactly like itself
    g = json.loads((out / "grade.json").read_text())
    assert "in step" in g["in_step"] and "delay the model's output by 37 samples" in g["in_step"]
    assert g["input_range"]["peak_dbfs"] == pytest.approx(-1.0, abs=0.1)
    assert "Trained on inputs up to" in g["text"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["sr"] == SR and cfg["input_range"]["peak_dbfs"] == pytest.approx(-1.0, abs=0.1)
    doc = json.loads(next((out / "export").glob("*.json")).read_text())
    assert doc["metadata"]["latency_removed_samples"] == 37
    assert doc["metadata"]["input_range"]["peak_dbfs"] == pytest.approx(-1.0, abs=0.1)
    card = (out / "export" / "mine.json.md").read_text()
    assert "delay the model's output by 37 samples" in card and "Input level range" in card


def test_a_model_warns_once_when_fed_louder_than_it_was_trained_on(tmp_path):
    import warnings

    from fxlab import training
    from fxlab.errors import LevelWarning
    from fxlab.signals import make_chunk

    x = make_chunk("pink", n=SR // 2, sr=SR, seed=1, amplitude=0.25)  # -12 dBFS peak
    tm = training.train({"train": (x, 0.5 * x), "val": (x, 0.5 * x)}, tmp_path / "m",
                        training.TrainConfig(model="lstm", epochs=1, model_params={"units": 4},
                                             segment=1024, batch_size=8), verbose=0)
    assert tm.input_range["peak_dbfs"] == pytest.approx(-12.04, abs=0.01)
    proc = tm.processor()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tm.predict(x)
        proc.process(x[:64])
        assert not caught
        tm.predict(2.0 * x)  # +6 dB: louder than trained on
        tm.predict(2.0 * x)
        proc.process(4.0 * x[:64])
    assert [w.category for w in caught] == [LevelWarning, LevelWarning]  # once each
    assert "-12.0 dBFS" in str(caught[0].message)
