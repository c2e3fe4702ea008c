"""The JAX backend: the ``tiny`` profile trains on Keras's JAX backend (as ``quick`` does), and what
it trained computes the same under TensorFlow.

The suite's one run of the study (``tiny_run``, conftest) takes the path ``make report`` takes: step
02 in a kernel with ``KERAS_BACKEND=jax``, the other steps on TensorFlow (the profile's
``keras_backend``). Its model folders were trained under JAX; what is checked here:

- Every model folder's ``config.json`` records ``keras_backend: jax``, and ``run.json`` which
  backend each step ran on.
- Seeded initialisers draw from each backend's own random generator, so the same seed trains other
  weights under JAX than under TensorFlow (measured: every initial kernel differs, by up to 1.8);
  what must be equal is what a trained model computes. So every model folder is loaded under JAX
  (a fresh process, ``tests/backend_support.py``) and under TensorFlow (this process), and fed the
  same seeded pink noise: ``TrainedModel.predict`` (numba kernels for LSTM/GRU/TCN, the emulator's
  compiled chain, the Keras model over batched windows for the thesis's networks) and, for the
  sample-level models, the Keras model itself must agree within ``PREDICT_ATOL`` = 1e-5 (the
  runtime's own bound against Keras). Measured: at most 9e-8 (float32 rounding).
- Timed under JAX, a model's latency reports the TensorFlow-only ``tf_function`` engine
  unavailable, with the reason, instead of failing, and times the numba engine.
- Same seed, same weights on JAX (two trainings in one fresh JAX process).

(Until the tiny profile trained on JAX, this module ran the whole tiny profile a second time under
JAX and compared its metrics with TensorFlow's within a factor 4; measured then: at most 2.05.)

Skipped where ``jax`` is not installed (``pip install -e ".[jax]"``; CI installs it). The module
checks for jax without importing it, so this TensorFlow process does not load a second XLA.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("jax") is None:
    pytest.skip('jax is not installed (pip install -e ".[jax]"); CI installs it',
                allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.jax]

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

#: Largest difference allowed between a model's outputs under JAX and under TensorFlow.
PREDICT_ATOL = 1e-5


def _jax_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": path}


def _run(args: list[str], what: str) -> None:
    proc = subprocess.run([sys.executable, *args], env=_jax_env(), cwd=REPO, capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, (f"{what} under KERAS_BACKEND=jax exited {proc.returncode}\n"
                                  f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")


def _model_dirs(run_dir: Path) -> list[Path]:
    return sorted(p for p in (run_dir / "models").iterdir() if (p / "model.keras").exists())


@pytest.fixture(scope="module")
def outputs(tiny_run, tmp_path_factory):
    """Outputs of every model folder of the tiny run: ``(under JAX, under TensorFlow)``; the JAX
    side also holds ``latency`` (the lstm's engines timed under JAX, JSON)."""
    import keras
    from backend_support import model_outputs

    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"the test process runs Keras on {keras.backend.backend()!r}, not TensorFlow")
    dirs = sorted(_model_dirs(tiny_run), key=lambda d: d.name != "lstm")  # lstm first: timed
    out = tmp_path_factory.mktemp("jax") / "outputs.npz"
    _run([str(TESTS / "backend_support.py"), str(out), *map(str, dirs)], "backend_support.py")
    with np.load(out) as f:
        under_jax = {k: f[k] for k in f.files}
    return under_jax, model_outputs(dirs)


def test_the_tiny_run_trains_on_jax_and_records_it(tiny_run):
    doc = json.loads((tiny_run / "run.json").read_text())
    assert doc["keras_backends"]["02_train"] == "jax", doc["keras_backends"]
    assert {doc["keras_backends"][s] for s in doc["keras_backends"] if s != "02_train"} == {
        "tensorflow"}
    dirs = _model_dirs(tiny_run)
    assert len(dirs) == 7
    for d in dirs:
        assert json.loads((d / "config.json").read_text())["keras_backend"] == "jax", d


def test_trained_models_compute_the_same_under_both_backends(outputs):
    under_jax, under_tf = outputs
    under_jax = dict(under_jax)
    under_jax.pop("latency")
    assert str(under_jax.pop("backend")) == "jax" and str(under_tf.pop("backend")) == "tensorflow"
    assert sorted(under_jax) == sorted(under_tf) and len(under_tf) == 7 + 4
    worst = {k: float(np.max(np.abs(under_jax[k] - under_tf[k]))) for k in under_tf}
    for k in under_tf:
        assert under_jax[k].shape == under_tf[k].shape, k
        assert np.all(np.isfinite(under_jax[k])) and np.max(np.abs(under_tf[k])) > 1e-3, k
    bad = {k: v for k, v in worst.items() if v > PREDICT_ATOL}
    assert not bad, f"outputs differ by more than {PREDICT_ATOL}: {bad}"


def test_latency_reports_tensorflow_engines_unavailable_under_jax(outputs):
    doc = json.loads(str(outputs[0]["latency"]))
    assert doc["engines"]["numba"] is None, doc  # None: timed, no problem to report
    assert "jax" in doc["engines"]["tf_function"], doc
    assert doc["summary"]["rtf"] > 0


SAME_SEED_SCRIPT = r"""
import sys
from pathlib import Path

import numpy as np
import scipy.signal

from fxlab import training

out = Path(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.uniform(-0.5, 0.5, 16384).astype(np.float32)
b, a = scipy.signal.butter(1, 440, "highpass", fs=44100)
y = scipy.signal.lfilter(b, a, x).astype(np.float32)
data = {"train": (x[:8192], y[:8192]), "val1": (x[8192:12288], y[8192:12288]),
        "val2": (x[12288:], y[12288:])}
configs = {
    "lstm": training.TrainConfig(model="lstm", model_params={"units": 8}, epochs=2, batch_size=4,
                                 segment=256, warmup=32, learning_rate=1e-2, seed=0),
    "thesis_gru": training.TrainConfig(model="thesis_gru", model_params={"units": 4, "window": 16},
                                       loss="mse", epochs=2, batch_size=8, windows_per_epoch=64,
                                       val_windows=32, learning_rate=3e-3, seed=0),
}
for name, cfg in configs.items():
    for run in ("a", "b"):
        training.train(data, out / f"{name}-{run}", cfg, verbose=0)
"""


def test_same_seed_same_weights_under_jax(tmp_path):
    """The quick profile trains on JAX: the same seed must give the same weights there too."""
    script = tmp_path / "same_seed.py"
    script.write_text(SAME_SEED_SCRIPT)
    _run([str(script), str(tmp_path)], "training twice with one seed")
    for name in ("lstm", "thesis_gru"):
        runs = []
        for run in ("a", "b"):
            cfg = json.loads((tmp_path / f"{name}-{run}" / "config.json").read_text())
            assert cfg["keras_backend"] == "jax"
            with np.load(tmp_path / f"{name}-{run}" / "checkpoint" / "last.npz") as z:
                runs.append({k: z[k] for k in z.files if k != "state"})
        assert sorted(runs[0]) == sorted(runs[1]) and len(runs[0]) > 2, name
        assert all(np.array_equal(runs[0][k], runs[1][k]) for k in runs[0]), name
