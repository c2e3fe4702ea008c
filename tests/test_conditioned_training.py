"""Knob-conditioned data sets, training and evaluation: real WAVs, real Keras training, tiny sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fxlab import datasets, pipeline, training
from fxlab.audio import loudest_start
from fxlab.conditioning import knob_inputs, render_inputs, setting_starts
from fxlab.effects import get_effect
from fxlab.errors import FxlabError, ParameterError
from fxlab.evaluate.knobs import evaluation_settings, knob_table_html, score_over_knobs

DRIVE = {"name": "drive", "params": {"oversample": 1}}
COND = {"knobs": ["gain_db"], "n": 3, "holdout": [{"gain_db": 10.0}]}


@pytest.fixture(scope="module")
def pedal_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("pedal")
    return datasets.build_dataset(root / "run" / "data", train_set="tiny", effect=DRIVE,
                                  val1_seconds=0.5, val2_seconds=0.5, conditioning=COND,
                                  log=lambda m: None)


@pytest.fixture(scope="module")
def pedal_model(pedal_data, tmp_path_factory):
    cfg = training.TrainConfig(model="lstm", model_params={"units": 8, "knobs": 1}, epochs=2,
                               segment=512, warmup=64, batch_size=16, seed=0)
    return training.train(pedal_data, tmp_path_factory.mktemp("m") / "lstm", cfg, verbose=0)


def test_a_conditioned_data_set_renders_each_split_at_its_settings(pedal_data):
    cond = pedal_data.conditioning
    assert [s["gain_db"] for s in cond["train_settings"]] == [0.0, 20.0, 40.0]
    assert cond["val_settings"] == [{"gain_db": 10.0}]
    assert [k.name for k in pedal_data.knobs] == ["gain_db"]
    train = pedal_data.split("train")
    n = train.dry.size // 3
    assert [s["start"] for s in train.settings] == [0, n, 2 * n]
    drive = get_effect("drive", oversample=1)
    for st in train.settings:  # each stretch is the same dry signal through the drive at its gain
        dry, wet = train.at(st["setting"])
        np.testing.assert_array_equal(dry, train.dry[:n])
        np.testing.assert_allclose(wet, drive.with_knobs(**st["setting"])(dry, pedal_data.sr), atol=1e-6)
    inputs = train.inputs
    assert inputs.shape == (train.dry.size, 2)
    np.testing.assert_array_equal(inputs[:, 0], train.dry)
    assert np.allclose(inputs[:n, 1], 0.0) and np.allclose(inputs[n:2 * n, 1], 0.5) and np.allclose(inputs[2 * n:, 1], 1.0)
    assert list(setting_starts(inputs)) == [0, n, 2 * n]
    val2 = pedal_data.split("val2")
    assert len(val2.settings) == 1 and np.allclose(val2.inputs[:, 1], 0.25)


def test_conditioning_changes_the_recipe_key_and_bad_requests_are_clear_errors(tmp_path):
    plain = datasets.recipe(train_set="tiny", effect=DRIVE)
    knobbed = datasets.recipe(train_set="tiny", effect=DRIVE, conditioning=COND)
    assert "conditioning" not in plain and knobbed["conditioning"]["knobs"][0]["name"] == "gain_db"
    with pytest.raises(FxlabError, match="gain"):
        datasets.recipe(train_set="tiny", effect=DRIVE, conditioning={"knobs": ["gian_db"]})
    with pytest.raises(ParameterError, match="held-out"):
        datasets.recipe(train_set="tiny", effect=DRIVE, conditioning={"knobs": ["gain_db"], "holdout": []})
    with pytest.raises(ParameterError, match=r"\[0, 40\]|range|40"):
        datasets.recipe(train_set="tiny", effect=DRIVE,
                        conditioning={"knobs": ["gain_db"], "holdout": [{"gain_db": 90.0}]})
    with pytest.raises(ParameterError, match="knobs"):
        datasets.recipe(train_set="tiny", effect=DRIVE, conditioning={"n": 3})


def test_segments_never_straddle_a_change_of_setting(pedal_data):
    from fxlab.training.data import resolve_data, segments

    splits, _, _ = resolve_data(pedal_data)
    inputs, wet = splits["train"]
    cfg = training.TrainConfig(segment=512, warmup=64, model_params={"knobs": 1})
    for epoch in range(4):
        x, y = segments(inputs, wet, cfg, epoch)
        assert x.shape[1:] == (512, 2) and y.shape[1:] == (512, 1)
        assert np.all(x[:, :, 1] == x[:, :1, 1])  # one setting along each segment
    with_extra = cfg.replace(segments_per_epoch=400)
    x, _ = segments(inputs, wet, with_extra, 0)
    assert x.shape[0] == 400 and np.all(x[:, :, 1] == x[:, :1, 1])


def test_an_odd_network_trains_saves_and_streams_odd_and_no_player_format_takes_it(pedal_data, tmp_path):
    """odd=1: y(-x) = -y(x) exactly, through training, saving, loading and the runtime; the
    exporters refuse it, saying why."""
    from fxlab import export

    cfg = training.TrainConfig(model="lstm", model_params={"units": 4, "knobs": 1, "odd": 1}, epochs=1,
                               segment=512, warmup=64, batch_size=16, seed=0)
    tm = training.train(pedal_data, tmp_path / "odd", cfg, verbose=0)
    tm = training.load_trained(tm.path)
    assert tm.config["model"]["odd"] == 1
    x = pedal_data.split("val2").dry[:3000]
    y, y_neg = tm.predict(x, knobs={"gain_db": 20.0}), tm.predict(-x, knobs={"gain_db": 20.0})
    np.testing.assert_array_equal(y, -y_neg)
    proc = tm.processor()
    proc.set_knobs(gain_db=20.0)
    np.testing.assert_allclose(proc.process_signal(x, block_size=7), y, atol=1e-6)
    inputs = knob_inputs(x, tm.knobs, {"gain_db": 20.0})
    keras_y = np.asarray(tm.model(inputs[None]))[0, :, 0]
    np.testing.assert_allclose(y, keras_y, atol=1e-5)
    with pytest.raises(ParameterError, match="odd-symmetric"):
        export.export(tm, "aidax", tmp_path / "odd.json")
    with pytest.raises(FxlabError, match="symmetry"):
        training.StudyConfig.from_parameters(pipeline.notebook_parameters("02_train"), symmetry="even")


def test_training_a_conditioned_network_saves_its_knobs_and_predict_uses_them(pedal_model, pedal_data):
    cfg = json.loads((pedal_model.path / "config.json").read_text())
    assert cfg["knobs"][0]["name"] == "gain_db" and cfg["model"]["knobs"] == 1
    assert [k.name for k in pedal_model.knobs] == ["gain_db"]
    x = pedal_data.split("val2").dry[:4000]
    y20 = pedal_model.predict(x, knobs={"gain_db": 20.0})
    ref = render_inputs(pedal_model, knob_inputs(x, pedal_model.knobs, {"gain_db": 20.0}))
    np.testing.assert_allclose(y20, ref, atol=1e-6)
    import keras

    direct = np.asarray(pedal_model.model(knob_inputs(x, pedal_model.knobs, {"gain_db": 20.0})[None]))[0, :, 0]
    np.testing.assert_allclose(y20, direct, atol=1e-5)
    assert not np.allclose(y20, pedal_model.predict(x, knobs={"gain_db": 0.0}), atol=1e-4)
    np.testing.assert_allclose(pedal_model.predict(x), y20, atol=1e-6)  # default: the knob's default, 20 dB
    del keras


def test_validation_restarts_at_each_setting(pedal_model, pedal_data):
    """The history's val ESR is the ESR of the model run from silence at each held-out setting
    (past the warm-up, as every validation ESR is)."""
    from fxlab import metrics

    split = pedal_data.split("val1")
    ys = [pedal_model.predict(split.at(s["setting"])[0], knobs=s["setting"]) for s in split.settings]
    esr = metrics.esr(split.wet[64:], np.concatenate(ys)[64:])
    assert esr == pytest.approx(pedal_model.summary["best"]["val1_esr"], rel=2e-3)


def test_the_model_must_read_as_many_knobs_as_the_data_has(pedal_data, tmp_path):
    plain = training.TrainConfig(model="lstm", model_params={"units": 8}, epochs=1, segment=512, warmup=64)
    with pytest.raises(ParameterError, match="knobs=1"):
        training.train(pedal_data, tmp_path / "a", plain, verbose=0)
    from fxlab.training.study import conditioned_configs

    with pytest.raises(ParameterError, match="thesis_gru"):
        conditioned_configs({"thesis_gru": training.TrainConfig(model="thesis_gru")}, 1)
    assert conditioned_configs({"gru": training.TrainConfig(model="gru")}, 2)["gru"].model_params["knobs"] == 2


def test_evaluation_settings_add_unseen_midpoints():
    cond = {"knobs": [get_effect("drive").knob("gain_db").to_dict()],
            "train_settings": [{"gain_db": v} for v in (0.0, 10.0, 20.0, 30.0, 40.0)],
            "val_settings": [{"gain_db": 15.0}, {"gain_db": 35.0}]}
    got = evaluation_settings(cond)
    assert [e["setting"]["gain_db"] for e in got] == [0, 5, 10, 15, 20, 25, 30, 35, 40]
    assert [e["seen"] for e in got] == [True, False] * 4 + [True]
    assert {e["role"] for e in got if not e["seen"]} == {"held out (validation)", "between grid values"}


def test_score_over_knobs_renders_effect_and_model_at_each_setting(pedal_model, pedal_data):
    from fxlab import metrics
    from fxlab.recordings import load_recording

    scores = score_over_knobs([pedal_model], pedal_data.effect, pedal_data.conditioning,
                              sr=pedal_data.sr, recordings=["guitar_slide"])
    rows = scores["models"]["lstm"]
    assert [r["setting"]["gain_db"] for r in rows] == [0, 10, 20, 30, 40]
    assert [r["seen"] for r in rows] == [True, False, True, False, True]
    x = load_recording("guitar_slide", sr=pedal_data.sr, peak_dbfs=-12.0)
    r = rows[3]
    want = metrics.esr(pedal_data.effect.with_knobs(gain_db=30.0)(x, pedal_data.sr),
                       pedal_model.predict(x, knobs={"gain_db": 30.0}))
    assert r["esr"] == pytest.approx(want, rel=1e-5)
    assert scores["summary"]["lstm"]["esr_unseen_max"] == max(rows[1]["esr"], rows[3]["esr"])
    html = knob_table_html(scores)
    assert "gain_db = 30" in html and "unseen" in html and "ViSQOL" not in html


def test_score_over_knobs_scores_visqol_at_each_setting_with_the_dry_control(pedal_model, pedal_data):
    from fxlab import perceptual
    from fxlab.recordings import load_recording

    if perceptual.unavailable():
        pytest.skip(perceptual.unavailable())
    scores = score_over_knobs([pedal_model], pedal_data.effect, pedal_data.conditioning,
                              sr=pedal_data.sr, recordings=["guitar_slide"], visqol_seconds=1.0)
    rows = scores["models"]["lstm"]
    assert all(1.0 <= r["visqol"] <= 5.0 for r in rows), rows
    # the stretch: the loudest second of the effect's output at that setting, model and dry alike
    x = load_recording("guitar_slide", sr=pedal_data.sr, peak_dbfs=-12.0)
    t = pedal_data.effect.with_knobs(gain_db=30.0)(x, pedal_data.sr)
    a = loudest_start(t, pedal_data.sr, hop=pedal_data.sr // 100)
    stretch = slice(a, a + pedal_data.sr)
    y = pedal_model.predict(x, knobs={"gain_db": 30.0})
    assert rows[3]["visqol"] == pytest.approx(perceptual.visqol(t[stretch], y[stretch], sr=pedal_data.sr),
                                              abs=1e-6)
    assert scores["visqol_dry"][3] == pytest.approx(
        perceptual.visqol(t[stretch], x[stretch], sr=pedal_data.sr), abs=1e-6)
    summary = scores["summary"]["lstm"]
    assert summary["visqol_unseen_min"] == min(rows[1]["visqol"], rows[3]["visqol"])
    html = knob_table_html(scores)
    assert "lstm: ViSQOL" in html and "dry: ViSQOL" in html


def test_symmetry_odd_is_refused_for_an_effect_that_is_not_odd():
    from fxlab.training.study import check_odd

    check_odd(get_effect("drive"), sr=44100)  # tanh: odd at every gain
    check_odd(get_effect("highpass", cutoff_hz=440.0, order=1), sr=44100)  # linear: odd
    with pytest.raises(ParameterError, match="asymmetric.*symmetry = 'none'"):
        check_odd(get_effect("drive", shape="asymmetric"), sr=44100)


def test_fxlab_train_refuses_odd_with_an_export_before_it_trains(tmp_path, capsys):
    from fxlab import cli

    code = cli.main(["train", "--dry", str(tmp_path / "none.wav"), "--wet", str(tmp_path / "none.wav"),
                     "--out", str(tmp_path / "m"), "--odd", "--export", "aidax"])
    err = capsys.readouterr().err
    assert code == 2 and "--odd with --export aidax" in err and "odd-symmetric" in err
    assert not (tmp_path / "m").exists()  # refused before reading a file or training
