"""The knob audition: a conditioned model against its effect at any knob setting.

The widget is driven from Python (real ipywidgets objects, no browser): a slider moved renders the
effect at that setting and the model through ``predict(knobs=...)``, the players hold those outputs
loudness-matched, and the readout gives their ESR and whether the setting was trained on. Model
folders are written by hand as training writes them (``tests/knob_support.py``).
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
from browser_support import make_run_dir
from knob_support import (
    DRIVE,
    TRAIN_SETTINGS,
    VAL_SETTINGS,
    add_conditioned_run,
    write_conditioned_model,
)

from fxlab import errors, listening, metrics
from fxlab.effects import effect_from_spec, get_effect
from fxlab.listening.clips import fade
from fxlab.models import build_model, config_of
from fxlab.training import load_trained

SR = 44100


@pytest.fixture(scope="module")
def drive_model(tmp_path_factory):
    return load_trained(write_conditioned_model(tmp_path_factory.mktemp("m") / "lstm"))


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(0)
    t = np.arange(int(0.3 * SR)) / SR
    return {"noise": (0.3 * rng.uniform(-1, 1, t.size)).astype(np.float32),
            "tone": (0.5 * np.sin(2 * np.pi * 220 * t) * np.minimum(1, 20 * t)).astype(np.float32)}


def _decoded(player) -> np.ndarray:
    y, sr = sf.read(io.BytesIO(player.value), dtype="float64")
    assert sr == SR
    return y


def test_a_slider_moved_renders_the_effect_and_the_model_at_that_setting(drive_model, clips):
    effect = effect_from_spec(DRIVE)
    w = listening.KnobAudition(drive_model, effect, clips, train_settings=TRAIN_SETTINGS,
                               val_settings=VAL_SETTINGS)
    slider = w.sliders["gain_db"]
    assert (slider.min, slider.max, slider.value, slider.step) == (0.0, 40.0, 20.0, 0.2)
    assert slider.continuous_update is False and "dB" in slider.description
    assert w.status == "held out" and "held out for validation" in w.readout.value

    slider.value = 30.0  # what a listener releasing the slider does
    x = clips["noise"]
    wet = effect.with_knobs(gain_db=30.0)(x, SR)
    pred = drive_model.predict(x, knobs={"gain_db": 30.0})
    np.testing.assert_array_equal(w.outputs["effect"], wet)
    np.testing.assert_array_equal(w.outputs["model"], pred)
    np.testing.assert_array_equal(w.outputs["dry"], x)
    assert w.esr == metrics.esr(wet, pred) and w.esr_dry == metrics.esr(wet, x)
    assert f"{metrics.esr(wet, pred):.4g}" in w.readout.value and "gain_db=30 dB" in w.readout.value
    assert w.status == "seen" and "seen in training" in w.readout.value
    # the players hold those outputs, faded and loudness-matched (16-bit)
    for v in ("effect", "model", "dry"):
        want = fade(w.outputs[v], SR) * 10 ** (w.gains_db[v] / 20)
        np.testing.assert_allclose(_decoded(w.players[v]), want, atol=2 / 32768)
    lufs = [listening.loudness(_decoded(w.players[v]), sr=SR) for v in ("effect", "model")]
    assert abs(lufs[0] - lufs[1]) < 0.05

    # half-way between training settings: unseen; another clip renders that clip
    w.set(gain_db=25.0)
    assert w.status == "unseen" and "unseen in training" in w.readout.value
    w.clip.value = "tone"
    np.testing.assert_array_equal(
        w.outputs["model"], drive_model.predict(clips["tone"], knobs={"gain_db": 25.0}))
    np.testing.assert_array_equal(
        w.outputs["effect"], effect.with_knobs(gain_db=25.0)(clips["tone"], SR))
    with pytest.raises(errors.UnknownNameError, match="tone_db"):
        w.set(tone_db=1.0)
    with pytest.raises(errors.ParameterError, match=r"\[0, 40\]"):
        w.set(gain_db=55.0)


def test_a_log_scale_knob_gets_a_log_slider(tmp_path):
    model = load_trained(write_conditioned_model(tmp_path / "hp", knobs=("cutoff_hz",),
                                                 effect="highpass"))
    effect = get_effect("highpass")
    x = (0.3 * np.random.default_rng(1).standard_normal(4000)).astype(np.float32)
    w = listening.KnobAudition(model, effect, x)
    s = w.sliders["cutoff_hz"]
    assert type(s).__name__ == "FloatLogSlider" and s.base == 10
    assert (s.min, s.max) == pytest.approx((np.log10(20), np.log10(20000)))
    assert w.status == "unknown"  # no training settings given
    s.value = 1000.0
    np.testing.assert_array_equal(w.outputs["effect"], effect.with_knobs(cutoff_hz=1000.0)(x, SR))
    np.testing.assert_array_equal(w.outputs["model"], model.predict(x, knobs={"cutoff_hz": 1000.0}))


def test_errors_name_the_model_and_the_effect(drive_model, clips, tmp_path):
    plain = build_model("lstm", seed=0, units=4)
    folder = tmp_path / "plain"
    folder.mkdir()
    plain.save(folder / "model.keras")
    (folder / "config.json").write_text(json.dumps({"train": {}, "model": config_of(plain),
                                                    "sr": SR}))
    with pytest.raises(errors.ParameterError, match="not conditioned on knobs"):
        listening.KnobAudition(load_trained(folder), effect_from_spec(DRIVE), clips)
    with pytest.raises(errors.ParameterError, match="gain_db of the model that the effect does not"):
        listening.KnobAudition(drive_model, get_effect("highpass"), clips)
    with pytest.raises(errors.ParameterError, match="clips"):
        listening.KnobAudition(drive_model, effect_from_spec(DRIVE), {})


def test_settings_status_and_the_summary_table(drive_model, clips):
    knobs = drive_model.knobs
    settings = listening.audition_settings(knobs, n=5)
    assert [s["gain_db"] for s in settings] == pytest.approx([0, 5, 10, 15, 20, 25, 30, 35, 40])
    status = [listening.setting_status(s, knobs, train_settings=TRAIN_SETTINGS,
                                       val_settings=VAL_SETTINGS) for s in settings]
    assert status == ["seen", "unseen", "seen", "unseen", "held out", "unseen", "seen", "unseen",
                      "seen"]
    # within half a slider step (0.1 dB) of a training setting counts as that setting
    assert listening.setting_status({"gain_db": 10.09}, knobs, train_settings=TRAIN_SETTINGS) == "seen"
    assert listening.setting_status({"gain_db": 10.2}, knobs, train_settings=TRAIN_SETTINGS) == "unseen"

    effect = effect_from_spec(DRIVE)
    records = listening.audition_summary(drive_model, effect, clips, sr=SR,
                                         settings=settings[:3], train_settings=TRAIN_SETTINGS)
    for r, s in zip(records, settings[:3], strict=True):
        for name, x in clips.items():
            one = listening.render_setting(drive_model, effect, x, s, sr=SR)
            assert r["esr"][name] == one["esr"]
        assert r["esr_mean"] == pytest.approx(np.mean(list(r["esr"].values())))
    page = listening.summary_html(records, model_name="lstm")
    assert page.count("<tr>") == 4 and "ESR noise" in page and "unseen in training" in page


def test_knob_audition_of_a_run_folder(tmp_path):
    run = make_run_dir(tmp_path / "reports" / "r1", seconds=0.5)
    cfg = listening.ListeningConfig(run_dir=str(run), interactive=False, clip_seconds=0.25)
    note = listening.knob_audition(cfg)
    assert "No model of this run is conditioned" in note.data
    add_conditioned_run(run, models=("gru", "lstm"))
    table = listening.knob_audition(cfg)
    assert "ESR of gru against the effect" in table.data and "ESR speech" in table.data
    # the settings notebook 03 scores: training 0, 10, 30, 40; held out 20; between: 5, 35
    assert "ESR guitar_em9" in table.data and table.data.count("<tr>") == 8
    widget = listening.knob_audition(listening.ListeningConfig(
        run_dir=str(run), interactive=True, clip_seconds=0.25, audition_model="lstm"))
    assert isinstance(widget, listening.KnobAudition) and widget.model.name == "lstm"
    # the speech clip is the data set's own Validation 2 input at -12 dBFS peak (as the
    # evaluation scores), cut to its loudest 0.25 s
    dry, _ = sf.read(run / "data" / "val2" / "dry.wav", dtype="float32")
    dry = dry * (10 ** (-12 / 20) / np.max(np.abs(dry)))
    speech = widget.clips["speech"]
    assert speech.size == int(0.25 * SR)
    assert any(np.allclose(speech, dry[i:i + speech.size], atol=1e-6)
               for i in range(0, dry.size - speech.size, 441))
    with pytest.raises(errors.UnknownNameError, match="knob-conditioned model"):
        listening.knob_audition(listening.ListeningConfig(run_dir=str(run), interactive=False,
                                                          audition_model="tcn"))
    with pytest.raises(errors.ParameterError, match="audition_model"):
        listening.ListeningConfig(run_dir=str(run), audition_model=3)
