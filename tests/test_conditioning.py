"""fxlab.conditioning: a real signal (the shipped speech, a seeded noise) rendered through real
effects over knob grids; shapes, normalised knob channels, targets equal to the effect at each
setting, held-out settings kept out of training, and the bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import fxlab
from fxlab import signals
from fxlab.audio import read_wav
from fxlab.conditioning import knob_grid, knob_inputs, render_grid
from fxlab.effects import get_effect
from fxlab.errors import NonFiniteError, ParameterError, UnknownNameError

SR = 44100
SPEECH = Path(fxlab.__file__).parent / "data" / "speech" / "arctic_a0007.wav"


@pytest.fixture(scope="module")
def speech():
    x, sr = read_wav(SPEECH)  # 16 kHz
    return x[sr // 4 : sr // 4 + sr], sr


def test_grid_spreads_each_knob_on_its_scale():
    drive = get_effect("drive")
    g = knob_grid(drive, ["gain_db"])
    assert [s["gain_db"] for s in g] == [0.0, 10.0, 20.0, 30.0, 40.0]
    comp = get_effect("pedalboard.Compressor")
    ratios = [s["ratio"] for s in knob_grid(comp, ["ratio"], n=3)]
    np.testing.assert_allclose(ratios, [1.0, np.sqrt(20.0), 20.0])  # log scale
    two = knob_grid(drive, ["gain_db", "tone"], n=3)
    assert len(two) == 9 and two[1] == {"gain_db": 0.0, "tone": 0.5}
    assert knob_grid(drive, ["tone"], values={"tone": [0.1, 0.9]}) == [{"tone": 0.1}, {"tone": 0.9}]
    assert len(knob_grid(drive)) == 125  # every knob by default


def test_render_grid_over_the_drive_on_speech(speech):
    speech, sr = speech
    drive = get_effect("drive", tone=0.7)
    data = render_grid(drive, speech, sr, knobs=["gain_db"], segment=4096)
    n_seg = speech.size // 4096
    # five settings, the middle one (20 dB) held out by default
    assert [s["gain_db"] for s in data.train_settings] == [0.0, 10.0, 30.0, 40.0]
    assert data.val_settings == [{"gain_db": 20.0}]
    assert data.train_inputs.shape == (4 * n_seg, 4096, 2)
    assert data.train_targets.shape == (4 * n_seg, 4096, 1)
    assert data.val_inputs.shape == (n_seg, 4096, 2) and data.train_inputs.dtype == np.float32
    # channel 0 is the dry audio, channel 1 the normalised knob, constant along a segment
    np.testing.assert_array_equal(data.train_inputs[:n_seg, :, 0].reshape(-1),
                                  speech[: n_seg * 4096])
    np.testing.assert_allclose(np.unique(data.train_inputs[:, :, 1]), [0.0, 0.25, 0.75, 1.0])
    assert np.all(data.val_inputs[:, :, 1] == 0.5)
    # targets are the effect at each setting, rendered over the whole signal from silence
    for i, s in enumerate(data.train_settings):
        wet = drive.with_knobs(**s)(speech, sr)[: n_seg * 4096]
        rows = data.train_setting_index == i
        np.testing.assert_array_equal(data.train_targets[rows, :, 0].reshape(-1), wet)
    # and the settings differ audibly: more drive, louder (compressed) output
    rms = [float(np.sqrt(np.mean(data.train_targets[data.train_setting_index == i] ** 2)))
           for i in range(4)]
    assert rms == sorted(rms) and rms[-1] > 2 * rms[0]
    # the record is JSON-able and names the knobs and settings
    m = json.loads(json.dumps(data.manifest()))
    assert m["knobs"][0]["name"] == "gain_db" and m["effect"]["params"]["tone"] == 0.7
    assert m["n_train"] == 4 * n_seg and m["val_settings"] == [{"gain_db": 20.0}]


def test_off_grid_holdout_on_pedalboard_distortion_two_knobs():
    x = signals.pink_noise(8192, seed=0)
    comp = get_effect("pedalboard.Compressor")
    data = render_grid(comp, x, SR, n=2, segment=2048,
                       holdout=[{"threshold_db": -30.0, "ratio": 4.0}, {"threshold_db": 0.0,
                                                                        "ratio": 1.0}])
    # the on-grid holdout leaves training, the off-grid one is rendered for validation only
    assert len(data.train_settings) == 3 and {"threshold_db": 0.0, "ratio": 1.0} \
        not in data.train_settings
    assert data.val_inputs.shape == (2 * 4, 2048, 3)
    np.testing.assert_allclose(data.val_inputs[0, 0, 1:], [0.5, np.log(4) / np.log(20)])
    no_val = render_grid(get_effect("pedalboard.Distortion"), x, SR, holdout=[])
    assert no_val.val_inputs.shape == (0, 8192, 2) and len(no_val.train_settings) == 5


def test_knob_inputs_checks_every_knob():
    knobs = get_effect("drive").knobs
    x = knob_inputs(np.zeros(10), knobs, {"gain_db": 40.0, "tone": 0.0, "level_db": -24.0})
    assert x.shape == (10, 4) and np.all(x[:, 1:] == [1.0, 0.0, 0.0])
    with pytest.raises(ParameterError, match="no value for level_db"):
        knob_inputs(np.zeros(10), knobs, {"gain_db": 40.0, "tone": 0.0})


@pytest.mark.parametrize(("kwargs", "error", "pattern"), [
    ({"knobs": ["drive"]}, UnknownNameError, "gain_db, level_db, tone"),
    ({"knobs": []}, ParameterError, "one or more knob names"),
    ({"knobs": ["gain_db", "gain_db"]}, ParameterError, "each knob once"),
    ({"knobs": ["gain_db"], "n": 1}, ParameterError, "n=5"),
    ({"knobs": ["gain_db"], "values": {"gain_db": [50.0]}}, ParameterError, r"\[0, 40\]"),
    ({"knobs": ["gain_db"], "values": {"tone": [0.5]}}, UnknownNameError, "gain_db"),
    ({"knobs": ["gain_db"], "holdout": [{"tone": 0.5}]}, ParameterError, "each varied knob"),
    ({"knobs": ["gain_db"], "holdout": [{"gain_db": 99.0}]}, ParameterError, r"\[0, 40\]"),
    ({"knobs": ["gain_db"], "n": 2, "holdout": [{"gain_db": 0.0}, {"gain_db": 40.0}]},
     ParameterError, "every setting"),
    ({"knobs": ["gain_db"], "segment": 5000}, ParameterError, r"\[1, 4096\]"),
    ({"knobs": ["gain_db"], "segment": 0}, ParameterError, "segment=0"),
])
def test_bad_grids(kwargs, error, pattern):
    x = signals.pink_noise(4096, seed=1)
    with pytest.raises(error, match=pattern) as info:
        render_grid(get_effect("drive"), x, SR, **kwargs)
    assert "Fix:" in str(info.value)


def test_bad_signals_and_effects():
    with pytest.raises(NonFiniteError, match="NaN"):
        render_grid(get_effect("drive"), np.full(100, np.nan, np.float32), SR)
    with pytest.raises(ParameterError, match="without knobs"):
        render_grid(get_effect("pedalboard.Reverb"), np.zeros(100, np.float32), SR)
    with pytest.raises(ParameterError, match=r"shape \(2, 100\)"):
        render_grid(get_effect("drive"), np.zeros((2, 100), np.float32), SR)
