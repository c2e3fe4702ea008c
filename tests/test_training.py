"""fxlab.training: real Keras training on toy data -- loss falls, resume is exact, seeds repeat."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from fxlab import training
from fxlab.capture import command
from fxlab.errors import FxlabError, ParameterError, UnknownNameError

SR = 44100


def _pair(n, seed):
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, n).astype(np.float32)
    b, a = scipy.signal.butter(1, 440, "highpass", fs=SR)
    return x, scipy.signal.lfilter(b, a, x).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    return {"train": _pair(8192, 0), "val1": _pair(2048, 1), "val2": _pair(1024, 2)}


TOY = training.TrainConfig(model="lstm", model_params={"units": 8}, epochs=2, batch_size=4,
                           segment=256, warmup=32, learning_rate=1e-2, lr_schedule="cosine", seed=0)


def _weights(tm_or_dir):
    with np.load(tm_or_dir / "checkpoint" / "last.npz") as z:
        return {k: z[k] for k in z.files if k != "state"}


@pytest.fixture(scope="module")
def two_epochs(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "a"
    return training.train(data, out, TOY, verbose=0)


def test_model_folder_holds_what_the_architecture_says(two_epochs):
    d = two_epochs.path
    for name in ("model.keras", "config.json", "history.csv", "summary.json", "checkpoint/last.npz"):
        assert (d / name).exists(), name
    assert any((d / "logs").iterdir())  # TensorBoard events
    s = json.loads((d / "summary.json").read_text())
    assert s["epochs_run"] == 2 and 1 <= s["best_epoch"] <= 2
    assert s["param_count"] == two_epochs.param_count == 4 * 8 * 10 + 9
    assert len(s["data_manifest_hash"]) == 64
    hist = training.read_history(d)
    assert [r["epoch"] for r in hist] == [1.0, 2.0]
    assert {"loss", "val1_loss", "val1_esr", "val2_loss", "val2_esr", "lr"} <= set(hist[0])
    assert s["best_val"] == min(r["val1_loss"] for r in hist)  # monitor: Validation 1
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["train"]["segment"] == 256 and cfg["model"]["units"] == 8


def test_training_lowers_the_loss(data, tmp_path):
    tm = training.train(data, tmp_path / "m", TOY.replace(epochs=4), verbose=0)
    hist = training.read_history(tm.path)
    assert hist[-1]["loss"] < 0.5 * hist[0]["loss"]
    assert hist[-1]["val1_esr"] < hist[0]["val1_esr"]


def test_same_seed_same_weights_other_seed_other_weights(data, tmp_path, two_epochs):
    again = training.train(data, tmp_path / "b", TOY, verbose=0)
    w1, w2 = _weights(two_epochs.path), _weights(again.path)
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)
    other = training.train(data, tmp_path / "c", TOY.replace(seed=1, epochs=1), verbose=0)
    assert not np.array_equal(_weights(other.path)["w0"], w1["w0"])


def test_kill_and_resume_continues_at_the_right_epoch_exactly(data, tmp_path, two_epochs):
    out = tmp_path / "r"
    training.train(data, out, TOY.replace(epochs=1), verbose=0)  # "killed" after epoch 1
    lines = []
    tm = training.train(data, out, TOY, resume=True, verbose=2, log=lines.append)
    assert lines[0].startswith("lstm: resuming after epoch 1")
    assert sum("epoch 2/2" in line for line in lines) == 1 and not any("epoch 1/2" in ln for ln in lines)
    w_full, w_resumed = _weights(two_epochs.path), _weights(tm.path)
    # weights and Adam's state (iterations, moments) equal an uninterrupted run's exactly
    assert sorted(w_full) == sorted(w_resumed)
    assert all(np.array_equal(w_full[k], w_resumed[k]) for k in w_full)
    h1, h2 = training.read_history(two_epochs.path), training.read_history(tm.path)
    assert [r["val1_loss"] for r in h1] == [r["val1_loss"] for r in h2]


def test_a_resumed_windowed_run_repeats_an_uninterrupted_one(data, tmp_path):
    cfg = training.TrainConfig(model="thesis_gru", model_params={"units": 4, "window": 16},
                               loss="mse", epochs=2, batch_size=8, windows_per_epoch=64,
                               val_windows=32, lr_schedule="constant", learning_rate=3e-3, seed=0)
    straight = training.train(data, tmp_path / "a", cfg, verbose=0)
    training.train(data, tmp_path / "b", cfg.replace(epochs=1), verbose=0)  # "killed" after 1
    resumed = training.train(data, tmp_path / "b", cfg, resume=True, verbose=0)
    w1, w2 = _weights(straight.path), _weights(resumed.path)
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)


def test_resume_with_other_settings_is_refused(data, tmp_path):
    out = tmp_path / "x"
    training.train(data, out, TOY.replace(epochs=1), verbose=0)
    with pytest.raises(ParameterError, match="learning_rate"):
        training.train(data, out, TOY.replace(learning_rate=1e-3), resume=True, verbose=0)


def test_a_folder_made_before_a_setting_existed_resumes_at_its_default(data, tmp_path):
    """A checkpoint whose config.json lacks a setting added to TrainConfig since (played here by
    ``jit_compile``) resumes when that setting is at its default, and refuses when it is not."""
    out = tmp_path / "old"
    training.train(data, out, TOY.replace(epochs=1), verbose=0)
    cfg = json.loads((out / "config.json").read_text())
    del cfg["train"]["jit_compile"]
    (out / "config.json").write_text(json.dumps(cfg))
    tm = training.train(data, out, TOY.replace(epochs=2), resume=True, verbose=0)
    assert tm.summary["epochs_run"] == 2
    with pytest.raises(ParameterError, match="jit_compile"):
        training.train(data, out, TOY.replace(epochs=3, jit_compile=False), resume=True, verbose=0)


def test_windowed_model_trains_on_subsampled_windows_and_predicts_per_window(data, tmp_path):
    cfg = training.TrainConfig(model="thesis_lstm_reduced", model_params={"units": 4, "window": 16},
                               loss="mse", epochs=1, batch_size=32, windows_per_epoch=96,
                               val_windows=64, lr_schedule="constant", seed=0)
    tm = training.train(data, tmp_path / "w", cfg, verbose=0)
    assert tm.family == "windowed" and tm.summary["train_samples_per_epoch"] == 96
    x = data["val2"][0][:100]
    y = tm.predict(x, max_samples=40)
    assert y.shape == (40,)
    padded = np.concatenate([np.zeros(15, np.float32), x])
    direct = np.asarray(tm.model.predict_on_batch(padded[None, 25:41, None])).ravel()[0]
    assert y[25] == pytest.approx(direct, abs=1e-6)  # output t comes from the window ending at t


def test_loaded_sample_model_predicts_the_whole_signal_through_the_runtime(two_epochs):
    tm = training.load_trained(two_epochs.path)
    x = np.random.default_rng(3).uniform(-0.5, 0.5, 3000).astype(np.float32)
    y = tm.predict(x)
    assert y.shape == (3000,) and y.dtype == np.float32
    short = tm.predict(x, max_samples=200)
    assert short.shape == (200,)
    np.testing.assert_allclose(short, y[:200], atol=1e-6)  # causal: the first 200 samples agree
    np.testing.assert_allclose(short, np.asarray(tm.model(x[None, :200, None])).ravel(), atol=1e-5)
    assert tm._processor is not None and tm._processor.engine_name == "numba"  # made once, reused


def test_time_budget_stops_training(data, tmp_path):
    tm = training.train(data, tmp_path / "t", TOY.replace(epochs=50, max_minutes=1e-4), verbose=0)
    assert tm.summary["stopped"] == "time budget" and tm.summary["epochs_run"] == 1
    # the history counts what the cut epoch trained on: one step of 4 segments, not the epoch
    assert tm.summary["train_samples_per_epoch"] == 4 * (256 - 32)


def test_a_diverging_run_stops_says_so_and_keeps_finite_weights(data, tmp_path):
    """A learning rate of 1e30 with the MSE loss: the first epoch's loss overflows to NaN. The run
    stops ("diverged"), records no epoch, says what steadies it, and keeps its starting weights
    (finite), so the model still loads, plays and plots."""
    from fxlab.plots.training import plot_history

    lines: list[str] = []
    cfg = TOY.replace(learning_rate=1e30, loss="mse", lr_schedule="constant", epochs=3)
    tm = training.train(data, tmp_path / "d", cfg, verbose=1, log=lines.append)
    assert tm.summary["stopped"] == "diverged" and tm.summary["epochs_run"] == 0
    assert any("diverged" in line and "lower learning rate" in line for line in lines), lines
    assert not (tmp_path / "d" / "history.csv").exists()
    again = training.load_trained(tmp_path / "d")
    assert np.isfinite(again.predict(data["val1"][0])).all()
    plot_history([tmp_path / "d"])  # a panel saying no epoch finished, not an error


@pytest.mark.parametrize(("changes", "error", "match"), [
    ({"model": "lstn"}, UnknownNameError, "lstn"),
    ({"warmup": 256}, ParameterError, "warmup"),
    ({"model": "thesis_gru", "loss": "esr_pre"}, ParameterError, "windowed"),
    ({"lr_schedule": "linear"}, UnknownNameError, "schedule"),
    ({"epochs": 0}, ParameterError, "epochs"),
    ({"loss": "mrstft"}, ParameterError, "segment"),
])
def test_bad_training_settings_fail_with_fxlab_errors(changes, error, match):
    with pytest.raises(error, match=match):
        TOY.replace(**changes)


def test_learning_rate_schedules():
    cfg = TOY.replace(epochs=11, learning_rate=1.0, lr_final=0.1)
    assert training.learning_rate_at(cfg, 0) == 1.0
    assert training.learning_rate_at(cfg, 10) == pytest.approx(0.1)
    assert training.learning_rate_at(cfg, 5) == pytest.approx(0.55)
    exp = cfg.replace(lr_schedule="exponential")
    assert training.learning_rate_at(exp, 5) == pytest.approx(0.1**0.5)
    # over the time budget: the fraction spent decides, not the epoch
    timed = cfg.replace(lr_schedule="cosine_budget", max_minutes=5.0, epochs=1000)
    assert training.learning_rate_at(timed, 3, budget_spent=0.0) == 1.0
    assert training.learning_rate_at(timed, 3, budget_spent=0.5) == pytest.approx(0.55)
    assert training.learning_rate_at(timed, 3, budget_spent=1.0) == pytest.approx(0.1)
    assert training.learning_rate_at(cfg.replace(lr_schedule="cosine_budget"), 5, 0.9) == pytest.approx(0.55)
    # auto: over the budget for sample-level models given one, else over the epochs
    assert cfg.schedule == "cosine" and timed.replace(lr_schedule="auto").schedule == "cosine_budget"
    assert training.TrainConfig(model="thesis_gru", max_minutes=5.0).schedule == "cosine"


def test_a_budget_schedule_lowers_the_rate_as_the_budget_runs_out(data, tmp_path):
    tm = training.train(data, tmp_path / "b", TOY.replace(epochs=1000, max_minutes=0.2, lr_schedule="auto"),
                        verbose=0)
    rows = training.read_history(tm.path)
    assert tm.summary["stopped"] == "time budget" and len(rows) >= 2
    assert rows[0]["lr"] == pytest.approx(TOY.learning_rate, rel=1e-3)  # milliseconds into the budget
    assert all(a["lr"] > b["lr"] for a, b in zip(rows, rows[1:], strict=False))
    # each epoch's rate is the cosine at the budget fraction spent before it (previous row's wall_s)
    for before, row in zip(rows, rows[1:], strict=False):
        assert row["lr"] <= training.learning_rate_at(TOY.replace(lr_schedule="cosine_budget", max_minutes=0.2),
                                                      0, before["wall_s"] / 12.0) * (1 + 1e-6)


def _study(**changes):
    from fxlab.pipeline import notebook_parameters

    return training.StudyConfig.from_parameters(notebook_parameters("02_train"), **changes)


def test_study_config_fields_are_the_notebook_parameters():
    import dataclasses

    from fxlab.pipeline import notebook_parameters

    fields = [f.name for f in dataclasses.fields(training.StudyConfig)]
    assert fields == list(notebook_parameters("02_train"))


def test_study_configs_from_flat_parameters():
    cfgs = _study(models="lstm, thesis_cnn", sample_units=16, thesis_window=256,
                  cnn_filters=32, cnn_kernel=0, windows_per_epoch=100).train_configs()
    assert list(cfgs) == ["lstm", "thesis_cnn"]
    assert cfgs["lstm"].model_params == {"units": 16, "layers": 1}
    assert cfgs["thesis_cnn"].model_params == {"window": 256, "filters": 32}
    assert cfgs["thesis_cnn"].loss == "mse" and cfgs["thesis_cnn"].windows_per_epoch == 100
    with pytest.raises(UnknownNameError):
        _study(models="lstm,wavenet")  # checked when the config is made
    with pytest.raises(ParameterError, match="sample_units"):
        training.StudyConfig.from_parameters({"models": "lstm"})


def test_the_tcn_gets_a_warm_up_of_its_receptive_field():
    cfgs = _study(models="lstm,tcn", tcn_layers=7, segment=512, warmup=64).train_configs()
    assert (cfgs["lstm"].segment, cfgs["lstm"].warmup) == (512, 64)
    assert (cfgs["tcn"].segment, cfgs["tcn"].warmup) == (512, 254)  # receptive field 255
    big = _study(models="tcn", tcn_layers=10).train_configs()["tcn"]
    assert (big.segment, big.warmup) == (2 * 2046, 2046)
    assert _study(models="tcn", tcn_layers=2, warmup=64).train_configs()["tcn"].warmup == 64


def _cli(tmp_path, dry, wet, *extra):
    parser = command.add_train_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--dry", str(dry), "--wet", str(wet), "--out", str(tmp_path / "mine"), *extra])
    return command.run_train_command(args)


def test_fxlab_train_on_a_bad_pair_fails_with_the_audio_errors(tmp_path):
    from fxlab.errors import LengthMismatchError, SampleRateError

    x, y = _pair(44100, 5)
    sf.write(tmp_path / "dry.wav", x, SR, subtype="FLOAT")
    sf.write(tmp_path / "wet48.wav", y, 48000, subtype="FLOAT")
    sf.write(tmp_path / "short.wav", y[:30000], SR, subtype="FLOAT")
    with pytest.raises(SampleRateError):
        _cli(tmp_path, tmp_path / "dry.wav", tmp_path / "wet48.wav")
    with pytest.raises(LengthMismatchError):
        _cli(tmp_path, tmp_path / "dry.wav", tmp_path / "short.wav")
    with pytest.raises(FxlabError):
        _cli(tmp_path, tmp_path / "missing.wav", tmp_path / "short.wav")
    assert not (tmp_path / "mine" / "model.keras").exists()


def test_fxlab_train_on_a_good_pair_holds_out_the_end(tmp_path, capsys):
    x, y = _pair(44100, 6)
    sf.write(tmp_path / "dry.wav", x, SR, subtype="FLOAT")
    sf.write(tmp_path / "wet.wav", y, SR, subtype="FLOAT")
    assert _cli(tmp_path, tmp_path / "dry.wav", tmp_path / "wet.wav", "--epochs", "1", "--units", "8",
                "--segment", "1024", "--batch-size", "8") == 0
    info = json.loads((tmp_path / "mine" / "pair.json").read_text())
    assert info["val_samples"] == pytest.approx(0.2 * 44100, abs=1) and info["train_samples"] + info["val_samples"] == 44100
    assert "held-out ESR" in capsys.readouterr().out
    assert {"val_loss", "val_esr"} <= set(training.read_history(tmp_path / "mine")[0])


def test_tiny_run_trained_every_model_of_the_profile(tiny_run):
    import yaml

    params = yaml.safe_load((tiny_run / "params" / "02_train.yaml").read_text())
    names = [n.strip() for n in params["models"].split(",")]
    for name in names:
        d = tiny_run / "models" / name
        s = json.loads((d / "summary.json").read_text())
        assert s["epochs_run"] >= 1 and np.isfinite(s["best_val"])
        hist = training.read_history(d)
        assert {"val1_esr", "val2_esr"} <= set(hist[0])
        tm = training.load_trained(d)
        assert tm.predict(np.zeros(64, np.float32)).shape == (64,)
