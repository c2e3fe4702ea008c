"""fxlab.models: every named model builds with the right shapes, is causal, and streams exactly."""

from __future__ import annotations

import numpy as np
import pytest

from fxlab import models
from fxlab.errors import ParameterError, UnknownNameError

TOY = {
    "thesis_lstm": {"units": 8, "window": 32},
    "thesis_lstm_reduced": {"units": 8, "window": 16},
    "thesis_gru": {"units": 8, "window": 16},
    "thesis_cnn": {"window": 64, "filters": 8, "kernel": 8},
    "lstm": {"units": 8, "layers": 2},
    "gru": {"units": 8, "layers": 1},
    "tcn": {"channels": 4, "kernel": 3, "layers": 4},
    "graybox": {"sections": 7, "shaper": 3},
}


def _signal(n, seed=0):
    return np.random.default_rng(seed).uniform(-0.5, 0.5, n).astype(np.float32)


@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_every_model_maps_a_batch_to_the_right_shape(name):
    m = models.build_model(name, seed=0, **TOY[name])
    cfg = models.model_config(name, **TOY[name])
    if cfg["family"] == "windowed":
        x = _signal(3 * cfg["window"]).reshape(3, cfg["window"], 1)
        y = np.asarray(m.predict_on_batch(x))
        assert y.shape == (3, 1)
        # tanh output (the CNN adds the window's last input sample to it)
        bound = 1.0 + (np.abs(x[:, -1]) if name == "thesis_cnn" else 0.0)
        assert np.all(np.abs(y) <= bound)
    else:
        x = _signal(2 * 300).reshape(2, 300, 1)
        y = np.asarray(m.predict_on_batch(x))
        assert y.shape == (2, 300, 1)
    assert np.all(np.isfinite(y))


def test_thesis_sizes_and_the_default_parameter_counts():
    # LSTM-384 on one input: 4 * 384 * (1 + 384 + 1) weights + head 385
    assert models.build_model("thesis_lstm").count_params() == 4 * 384 * 386 + 385
    assert models.model_config("thesis_lstm_reduced")["window"] == 512
    assert models.model_config("thesis_gru")["units"] == 160
    lstm = models.build_model("lstm")
    assert [layer.name for layer in lstm.layers][1:] == ["rnn_0", "head", "skip"]
    assert lstm.get_layer("rnn_0").get_weights()[0].shape == (1, 4 * 32)


def test_sample_models_add_the_input_back():
    m = models.build_model("lstm", units=8, seed=0)
    head = m.get_layer("head")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    x = _signal(200)
    assert np.array_equal(np.asarray(m.predict_on_batch(x[None, :, None])).ravel(), x)


@pytest.mark.parametrize("name", models.SAMPLE_MODELS)
def test_changing_the_input_after_t_leaves_the_output_up_to_t_unchanged(name):
    m = models.build_model(name, seed=1, **TOY[name])
    x = _signal(400, seed=2)
    x2 = x.copy()
    t = 250
    x2[t + 1:] = _signal(400 - t - 1, seed=3)
    y = np.asarray(m.predict_on_batch(np.stack([x, x2])[..., None]))[..., 0]
    np.testing.assert_allclose(y[0, : t + 1], y[1, : t + 1], atol=1e-6)
    assert np.max(np.abs(y[0, t + 1:] - y[1, t + 1:])) > 1e-3


def test_tcn_receptive_field_is_exact():
    cfg = models.model_config("tcn", **TOY["tcn"])
    rf = cfg["receptive_field"]
    assert rf == 1 + 2 * (1 + 2 + 4 + 8)
    m = models.build_model("tcn", seed=0, **TOY["tcn"])
    x = _signal(3 * rf, seed=4)
    x2 = x.copy()
    x2[0] += 0.5
    y = np.asarray(m.predict_on_batch(np.stack([x, x2])[..., None]))[..., 0]
    diff = np.abs(y[0] - y[1])
    assert diff[rf - 1] > 1e-6  # the oldest sample still in view
    assert np.all(diff[rf:] == 0.0)  # out of view


def test_the_stateful_twin_carries_the_state_explicitly():
    from fxlab.models.recurrent import rnn_spec, stateful_twin

    m = models.build_model("lstm", seed=5, **TOY["lstm"])
    x = _signal(300, seed=6)
    whole = np.asarray(m.predict_on_batch(x[None, :, None])).ravel()
    twin = stateful_twin(rnn_spec(m))
    states = [np.zeros((1, 8), np.float32) for _ in range(4)]  # h, c of two layers
    out = []
    for block in np.split(x, [100, 101]):
        head, *states = twin.predict_on_batch([block[None, :, None], *states])
        out.append(np.asarray(head).ravel() + block)
    np.testing.assert_allclose(np.concatenate(out), whole, atol=1e-5)


def test_config_of_an_unknown_keras_model_is_a_clear_error():
    import keras

    x = keras.Input(shape=(None, 1))
    other = keras.Model(x, keras.layers.Dense(1)(x), name="mine")
    with pytest.raises(ParameterError, match="build_model"):
        models.config_of(other)


def test_every_model_states_its_structure():
    """What exporters ask a model: recurrent (lstm, gru), tcn, the thesis's windowed nets, or
    the traditional emulator."""
    assert {n: models.structure_of(n) for n in models.MODEL_NAMES} == {
        **dict.fromkeys(models.WINDOWED_MODELS, "windowed"), "lstm": "recurrent",
        "gru": "recurrent", "tcn": "tcn", "graybox": "graybox"}
    with pytest.raises(UnknownNameError):
        models.structure_of("lstn")


@pytest.mark.parametrize(("name", "overrides", "error"), [
    ("lstn", {}, UnknownNameError),
    ("lstm", {"unit": 8}, UnknownNameError),
    ("lstm", {"units": 0}, ParameterError),
    ("gru", {"units": 8.5}, ParameterError),
    ("thesis_cnn", {"filters": 4}, ParameterError),
])
def test_bad_names_and_values_fail_with_fxlab_errors(name, overrides, error):
    with pytest.raises(error, match="Fix|known"):
        models.build_model(name, **overrides)
