"""The thesis's windowed, many-to-one networks (its Fig. 7 and section 3.1.3).

Input ``[B, window, 1]``: the last ``window`` dry samples up to and including time ``t``; output
``[B, 1]``: the wet sample at ``t``. Every output sample costs a whole window of forward steps,
which is why the thesis ran 35x slower than real time. The receptive field is the window.

The runtime runs them through :class:`fxlab.runtime.WindowedProcessor` (batched windows, zeros
before the start); nothing outside this file needs to know their layer names.

- :func:`build`   ``thesis_lstm``, ``thesis_lstm_reduced``, ``thesis_gru`` (one recurrent layer
  ``rnn_0`` -> ``Dense(1, tanh)`` ``head``) or ``thesis_cnn``
- :func:`receptive_field`   the window
- :func:`window_of`         the window of a built Keras model (its input length)
"""

from __future__ import annotations

from typing import Any

__all__ = ["build", "receptive_field", "window_of"]


def receptive_field(cfg: dict[str, Any]) -> int:
    """Input samples one output depends on: the window [samples]."""
    return int(cfg["window"])


def window_of(keras_model) -> int:
    """The window [samples] of a built windowed network: the length of its input."""
    return int(keras_model.inputs[0].shape[1])


def _build_rnn(cfg):
    import keras

    x = keras.Input(shape=(cfg["window"], 1), name="window")
    cls = keras.layers.LSTM if cfg["cell"] == "lstm" else keras.layers.GRU
    h = cls(cfg["units"], return_sequences=False, name="rnn_0")(x)
    y = keras.layers.Dense(1, activation="tanh", name="head")(h)
    return keras.Model(x, y, name=cfg["name"])


def _build_cnn(cfg):
    """Section 3.1.3. Choices where the thesis is silent: ``padding="same"`` for every convolution
    and pooling (so any window >= 2 works; causality is the window's, which ends at ``t``), max
    pooling, tanh on the three hidden dense layers and on the last one (the thesis: tanh output),
    and the result added to the window's last input sample (``y = x[t] + tanh(...)``)."""
    import keras

    layers = keras.layers
    x = keras.Input(shape=(cfg["window"], 1), name="window")
    h = x
    filters, kernel, step = cfg["filters"], cfg["kernel"], 1
    for g in range(cfg["groups"]):
        h = layers.Conv1D(filters, kernel, strides=step, padding="same", activation="tanh",
                          name=f"conv_{g}_strided")(h)
        h = layers.Conv1D(filters, kernel, dilation_rate=step, padding="same", activation="tanh",
                          name=f"conv_{g}_dilated")(h)
        h = layers.MaxPooling1D(pool_size=step, strides=step, padding="same", name=f"pool_{g}")(h)
        filters, kernel, step = max(filters // 2, 1), max(kernel // 2, 1), step * 2
    h = layers.Flatten(name="flatten")(h)
    for i, width in enumerate((8, 4, 2)):
        h = layers.Dense(width, activation="tanh", name=f"dense_{i}")(h)
    d = layers.Dense(1, activation="tanh", name="head")(h)
    last = layers.Cropping1D((cfg["window"] - 1, 0), name="last_input")(x)
    last = layers.Reshape((1,), name="last_input_flat")(last)
    y = layers.Add(name="skip")([d, last])
    return keras.Model(x, y, name=cfg["name"])


def build(cfg: dict[str, Any]):
    """The Keras model of a windowed network from its full config (``fxlab.models.model_config``)."""
    return _build_cnn(cfg) if cfg["name"] == "thesis_cnn" else _build_rnn(cfg)
