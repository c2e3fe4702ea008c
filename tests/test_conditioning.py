"""fxlab.conditioning: knob grids over real effects on each knob's scale, held-out settings kept
out of training, the network's knob inputs, and the bad inputs. (Data sets rendered over a grid:
tests/test_conditioned_training.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from fxlab.conditioning import knob_grid, knob_inputs, plan_settings
from fxlab.effects import get_effect
from fxlab.errors import ParameterError, UnknownNameError

SR = 44100




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


def test_the_default_holdout_is_the_middle_setting():
    varied, train, held = plan_settings(get_effect("drive", tone=0.7), ["gain_db"])
    assert [k.name for k in varied] == ["gain_db"]
    assert [s["gain_db"] for s in train] == [0.0, 10.0, 30.0, 40.0]
    assert held == [{"gain_db": 20.0}]


def test_on_and_off_grid_holdouts_two_knobs():
    comp = get_effect("pedalboard.Compressor")
    varied, train, held = plan_settings(
        comp, n=2, holdout=[{"threshold_db": -30.0, "ratio": 4.0},
                            {"threshold_db": 0.0, "ratio": 1.0}])
    # the on-grid holdout leaves training, the off-grid one is a setting for validation only
    assert len(train) == 3 and {"threshold_db": 0.0, "ratio": 1.0} not in train
    assert held[0] == {"threshold_db": -30.0, "ratio": 4.0}
    np.testing.assert_allclose([k.normalise(held[0][k.name]) for k in varied],
                               [0.5, np.log(4) / np.log(20)])
    _, train, held = plan_settings(get_effect("pedalboard.Distortion"), holdout=[])
    assert held == [] and len(train) == 5


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
])
def test_bad_grids(kwargs, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        plan_settings(get_effect("drive"), **kwargs)
    assert "Fix:" in str(info.value)


def test_an_effect_without_knobs_is_refused():
    with pytest.raises(ParameterError, match="without knobs"):
        plan_settings(get_effect("pedalboard.Reverb"))
