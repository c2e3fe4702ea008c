"""The causal dilated convolutional network ``tcn`` (WaveNet-style), and its contract.

Input ``[B, T, 1]`` -> ``input_proj`` (1x1 ``Conv1D``) -> per layer ``i`` a gated unit
``tanh(filter_i(h)) * sigmoid(gate_i(h))`` (causal ``Conv1D``, kernel ``kernel``, dilation
``2**(i mod layers)``) feeding a 1x1 ``skip_i`` and a 1x1 ``res_i`` added back to ``h``
(``residual_i``) -> the sum of the skips (``skip_sum``) -> ``tanh`` (``skip_tanh``) -> ``Dense(1,
name="head")`` -> ``skip`` (plus the input).

This file is the only one that knows those names.

- :func:`build`              the Keras model from a full config
- :func:`receptive_field`    ``1 + (kernel - 1) * stacks * (2**layers - 1)`` samples
- :func:`config_from_keras`  the model parameters of a built model (channels, kernel, layers, stacks)
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["build", "config_from_keras", "receptive_field"]


def receptive_field(cfg: dict[str, Any]) -> int:
    """Input samples (the current one included) one output sample depends on."""
    return 1 + (cfg["kernel"] - 1) * cfg["stacks"] * ((1 << cfg["layers"]) - 1)


def build(cfg: dict[str, Any]):
    """The Keras model of the TCN from its full config."""
    import keras

    layers = keras.layers
    c, k = cfg["channels"], cfg["kernel"]
    x = keras.Input(shape=(None, 1), name="audio")
    h = layers.Conv1D(c, 1, name="input_proj")(x)
    skips = []
    i = 0
    for _ in range(cfg["stacks"]):
        for j in range(cfg["layers"]):
            d = 1 << j
            f = layers.Conv1D(c, k, dilation_rate=d, padding="causal", activation="tanh",
                              name=f"filter_{i}")(h)
            g = layers.Conv1D(c, k, dilation_rate=d, padding="causal", activation="sigmoid",
                              name=f"gate_{i}")(h)
            z = layers.Multiply(name=f"gated_{i}")([f, g])
            skips.append(layers.Conv1D(c, 1, name=f"skip_{i}")(z))
            h = layers.Add(name=f"residual_{i}")([h, layers.Conv1D(c, 1, name=f"res_{i}")(z)])
            i += 1
    s = layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
    s = layers.Activation("tanh", name="skip_tanh")(s)
    out = layers.Dense(1, name="head")(s)
    y = layers.Add(name="skip")([out, x])
    return keras.Model(x, y, name=cfg["name"])


def config_from_keras(km) -> dict[str, Any]:
    """``channels``, ``kernel``, ``layers`` and ``stacks`` of a TCN built by :func:`build`."""
    filters = [layer for layer in km.layers if layer.name.startswith("filter_")]
    dil = [int(np.atleast_1d(layer.get_config()["dilation_rate"])[0]) for layer in filters]
    per_stack = 1 + max(int(np.log2(d)) for d in dil)
    f0 = filters[0].get_config()
    return {"channels": int(f0["filters"]), "kernel": int(np.atleast_1d(f0["kernel_size"])[0]),
            "layers": per_stack, "stacks": len(filters) // per_stack}
