"""Test helper: the outputs of trained model folders under the current Keras backend.

Run as a script in a fresh process (the backend is fixed when Keras is first imported)::

    KERAS_BACKEND=jax python tests/backend_support.py OUT.npz MODEL_DIR [MODEL_DIR ...]

and imported by the tests, which call :func:`model_outputs` under TensorFlow on the same folders.
The script also stores ``latency``: :func:`latency_engines` of the first folder, as JSON.
For every folder it stores ``<folder>/predict`` (``TrainedModel.predict``: the numba kernels for
LSTM/GRU and the TCN, the Keras model over batched windows for the thesis's networks) and, for the
sample-level models, ``<folder>/keras`` (the Keras model called on the whole signal, which runs on
the backend itself). The input is the same seeded pink noise in every process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

__all__ = ["SAMPLES", "WINDOWED_SAMPLES", "input_signal", "latency_engines", "model_outputs"]

#: Samples of the test signal given to the sample-level models (about 0.1 s).
SAMPLES = 4096
#: Output samples asked of a windowed model (each costs one window's forward pass).
WINDOWED_SAMPLES = 1024


def input_signal() -> np.ndarray:
    """The seeded input every process feeds the models: pink noise, peak 0.5, float32."""
    from fxlab.signals import make_chunk

    return make_chunk("pink", n=SAMPLES, sr=44100, seed=123).astype(np.float32)


def model_outputs(model_dirs) -> dict[str, np.ndarray]:
    """``{"<folder>/predict": y, "<folder>/keras": y}`` for each model folder, on this backend."""
    import keras

    from fxlab.training import load_trained

    x = input_signal()
    out: dict[str, np.ndarray] = {"backend": np.array(keras.backend.backend())}
    for d in model_dirs:
        tm = load_trained(d)
        key = str(Path(d).resolve())
        if tm.family == "windowed":
            out[f"{key}/predict"] = tm.predict(x, max_samples=WINDOWED_SAMPLES)
        else:
            out[f"{key}/predict"] = tm.predict(x)
            y = tm.model(keras.ops.convert_to_tensor(x[None, :, None]))
            out[f"{key}/keras"] = np.asarray(keras.ops.convert_to_numpy(y)).reshape(-1)
    return out


def latency_engines(model_dir) -> dict:
    """The latency step's account of one sample-level model's engines on this backend
    (``measure_model``'s ``engines`` and ``summary``, a few short blocks each)."""
    from fxlab.latency.measure import measure_model
    from fxlab.training import load_trained

    entry, _ = measure_model("m", load_trained(model_dir), engines="numba,tf_function",
                             block_sizes=(64,), n_blocks=20, seconds_per_config=0.1, log=None)
    return {"engines": entry["engines"], "summary": entry["summary"]}


if __name__ == "__main__":
    import json

    out = model_outputs(sys.argv[2:])
    out["latency"] = np.array(json.dumps(latency_engines(sys.argv[2])))
    np.savez(sys.argv[1], **out)
