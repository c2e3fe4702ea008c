"""What every model family shares: finding the Keras model inside what a caller holds, and the
odd-symmetric wrapper.

An **odd** network (``odd=1``, for ``lstm``, ``gru`` and ``tcn``) is ``y = (g(x) - g(-x)) / 2`` for
its core network ``g`` (the audio column negated, any knob columns not), so ``y(-x) = -y(x)``
exactly: no even harmonics and no DC, whatever the weights. Keras builds it from built-in layers
around the core, a nested model that keeps the model's own name: ``odd_flip`` (``Rescaling`` by
``[-1, 1, ..., 1]``), the core called twice with shared weights, ``odd_diff`` (``Subtract``),
``odd_mix`` (``Rescaling`` by 0.5). Everything that reads weights (the runtime's engines, the
exporters) reads the core (:func:`odd_core`); the runtime runs it twice with two states
(:class:`fxlab.runtime.streaming.OddProcessor`), at twice the cost.

- :func:`keras_of`   the Keras model inside a ``TrainedModel`` (or the model itself)
- :func:`odd_wrap`   the odd network around a core
- :func:`odd_core`   the core of an odd network (None for any other model)
"""

from __future__ import annotations

from fxlab.errors import ParameterError, problem

__all__ = ["keras_of", "odd_core", "odd_wrap"]

#: The layer that marks an odd network (its last).
ODD_LAYER = "odd_mix"


def keras_of(model):
    """The Keras model inside ``model`` (a ``fxlab.training.TrainedModel`` or a Keras model)."""
    inner = getattr(model, "model", None)
    if inner is not None and hasattr(inner, "layers"):
        return inner
    if hasattr(model, "layers") and hasattr(model, "inputs"):
        return model
    raise ParameterError(problem(
        "model", found=f"an object of type {type(model).__name__}",
        expected="a fxlab.training.TrainedModel or a Keras model built by fxlab.models",
        fix="load it with fxlab.training.load_trained(run_dir / 'models' / name)",
    ))


def odd_wrap(core, n_knobs: int):
    """``(core(x) - core(flip(x))) / 2``: the odd network around ``core`` (its name kept)."""
    import keras

    x = keras.Input(shape=(None, 1 + n_knobs), name=core.inputs[0].name.split(":")[0])
    flip = keras.layers.Rescaling([-1.0] + [1.0] * n_knobs, name="odd_flip")(x)
    y = keras.layers.Subtract(name="odd_diff")([core(x), core(flip)])
    return keras.Model(x, keras.layers.Rescaling(0.5, name=ODD_LAYER)(y), name=core.name)


def odd_core(model):
    """The core network of an odd network built by :func:`odd_wrap`; None for any other model."""
    km = keras_of(model)
    names = [layer.name for layer in km.layers]
    return km.get_layer(km.name) if ODD_LAYER in names else None
