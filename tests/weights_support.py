"""Test helper: push a freshly built model's weights away from their initial values.

Fresh initialisations leave biases at zero and some gates saturated in ways that hide bugs in
weight layouts; a seeded random offset on every weight makes engines and streams disagree loudly
when they are wrong.
"""

from __future__ import annotations

import numpy as np

__all__ = ["perturb_weights"]


def perturb_weights(model, *, seed: int, scale: float):
    """Add ``scale`` x standard-normal noise (seeded) to every weight of ``model``; returns it."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([(w + scale * rng.standard_normal(w.shape)).astype(np.float32) for w in ws])
    return model
