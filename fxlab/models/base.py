"""What every model family shares: finding the Keras model inside what a caller holds."""

from __future__ import annotations

from fxlab.errors import ParameterError, problem

__all__ = ["keras_of"]


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
