"""The JAX backend: the ``tiny`` profile end to end under ``KERAS_BACKEND=jax``, against TensorFlow.

Keras fixes its backend when it is first imported, so the JAX run is a fresh process
(``python -m fxlab.cli run --profile tiny`` with ``KERAS_BACKEND=jax``) writing into the session's
reports folder beside the TensorFlow run of ``tiny_run_result`` (sharing its data-set cache).

What is compared, and why:

- Every step of the JAX run ends ``ok``, and every model folder's ``config.json`` records
  ``keras_backend: jax`` (the TensorFlow run's: ``tensorflow``).
- The two runs cannot be compared number for number: Keras's seeded initialisers draw from each
  backend's own random generator, so the same seed gives other initial weights under JAX (measured:
  every kernel differs, by up to 1.8), and the training that follows differs with them. What must be
  equal is what a trained model computes. So every model folder of BOTH runs is loaded under JAX
  (a second fresh process, ``tests/backend_support.py``) and under TensorFlow (this process), and
  fed the same seeded pink noise: ``TrainedModel.predict`` (numba kernels for LSTM/GRU/TCN, the
  Keras model over batched windows for the thesis's networks) and, for the sample-level models,
  the Keras model itself must agree within ``PREDICT_ATOL`` = 1e-5 (the runtime's own bound against
  Keras). Measured: at most 9e-8 (float32 rounding) on outputs of peak 0.05 to 0.62.
- The metrics of the two runs (``metrics.json``: ESR and MSE per model and validation split) only
  have to be of the same size: each within a factor ``METRIC_FACTOR`` = 4 of TensorFlow's.
  Measured on the tiny profile (one epoch from other initial weights): at most a factor 2.05
  (``gru``'s ESR, 1.10 under JAX against 0.54). The data, the models' sizes and the set of models
  must be identical.
- The latency step times the numba engines and reports the TensorFlow-only ``tf_function`` engine
  unavailable, with the reason, instead of failing.

Skipped where ``jax`` is not installed (``pip install -e ".[jax]"``; CI installs it). The module
checks for jax without importing it, so this TensorFlow process does not load a second XLA.
"""

from __future__ import annotations

import importlib.util
import json
import math
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
#: Each ESR/MSE of the JAX run must lie within this factor of the TensorFlow run's.
METRIC_FACTOR = 4.0


def _jax_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": path}


def _run(args: list[str], what: str) -> None:
    proc = subprocess.run([sys.executable, *args], env=_jax_env(), cwd=REPO, capture_output=True,
                          text=True, timeout=1800)
    assert proc.returncode == 0, (f"{what} under KERAS_BACKEND=jax exited {proc.returncode}\n"
                                  f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")


@pytest.fixture(scope="module")
def jax_run(tiny_run_result, reports_dir) -> Path:
    """The tiny profile's run folder under JAX (after the TensorFlow run, whose data cache it uses)."""
    _run(["-m", "fxlab.cli", "run", "--profile", "tiny", "--run-id", "tiny-jax",
          "--reports", str(reports_dir)], "fxlab run --profile tiny")
    return reports_dir / "tiny-jax"


def _model_dirs(run_dir: Path) -> list[Path]:
    return sorted(p for p in (run_dir / "models").iterdir() if (p / "model.keras").exists())


@pytest.fixture(scope="module")
def outputs(jax_run, tiny_run, tmp_path_factory):
    """Outputs of every model folder of both runs: ``(under JAX, under TensorFlow)``."""
    import keras
    from backend_support import model_outputs

    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"the test process runs Keras on {keras.backend.backend()!r}, not TensorFlow")
    dirs = _model_dirs(tiny_run) + _model_dirs(jax_run)
    out = tmp_path_factory.mktemp("jax") / "outputs.npz"
    _run([str(TESTS / "backend_support.py"), str(out), *map(str, dirs)], "backend_support.py")
    with np.load(out) as f:
        under_jax = {k: f[k] for k in f.files}
    return under_jax, model_outputs(dirs)


def test_every_step_ok_under_jax(jax_run):
    doc = json.loads((jax_run / "run.json").read_text())
    assert [(s["name"], s["status"]) for s in doc["steps"]] == [
        (s["name"], "ok") for s in doc["steps"]], [s["error"] for s in doc["steps"]]
    assert len(doc["steps"]) == 5 and doc["ok"]
    assert (jax_run / "report.html").exists()


def test_model_folders_record_their_backend(jax_run, tiny_run):
    for run_dir, backend in ((jax_run, "jax"), (tiny_run, "tensorflow")):
        dirs = _model_dirs(run_dir)
        assert len(dirs) == 7
        for d in dirs:
            assert json.loads((d / "config.json").read_text())["keras_backend"] == backend, d


def test_trained_models_compute_the_same_under_both_backends(outputs):
    under_jax, under_tf = outputs
    assert str(under_jax.pop("backend")) == "jax" and str(under_tf.pop("backend")) == "tensorflow"
    assert sorted(under_jax) == sorted(under_tf) and len(under_tf) == 2 * (7 + 4)
    worst = {k: float(np.max(np.abs(under_jax[k] - under_tf[k]))) for k in under_tf}
    for k in under_tf:
        assert under_jax[k].shape == under_tf[k].shape, k
        assert np.all(np.isfinite(under_jax[k])) and np.max(np.abs(under_tf[k])) > 1e-3, k
    bad = {k: v for k, v in worst.items() if v > PREDICT_ATOL}
    assert not bad, f"outputs differ by more than {PREDICT_ATOL}: {bad}"


def test_metrics_of_the_jax_run_match_tensorflow_in_size(jax_run, tiny_run):
    tf_doc = json.loads((tiny_run / "metrics.json").read_text())
    jax_doc = json.loads((jax_run / "metrics.json").read_text())
    assert jax_doc["data_manifest_hash"] == tf_doc["data_manifest_hash"]
    assert sorted(jax_doc["models"]) == sorted(tf_doc["models"])
    far = []
    for name, tf_m in tf_doc["models"].items():
        jax_m = jax_doc["models"][name]
        assert jax_m["param_count"] == tf_m["param_count"], name
        for split, tf_s in tf_m["splits"].items():
            for metric in ("esr", "mse"):
                a, b = tf_s[metric], jax_m["splits"][split][metric]
                assert a > 0 and b > 0 and math.isfinite(b), (name, split, metric, a, b)
                if max(a / b, b / a) > METRIC_FACTOR:
                    far.append((name, split, metric, a, b))
    assert not far, f"JAX metrics beyond a factor {METRIC_FACTOR} of TensorFlow's: {far}"


def test_latency_reports_tensorflow_engines_unavailable_under_jax(jax_run):
    doc = json.loads((jax_run / "latency.json").read_text())
    for name in ("lstm", "gru"):
        engines = doc["models"][name]["engines"]
        assert engines["numba"] is None, engines  # None: timed, no problem to report
        assert "jax" in engines["tf_function"], engines
        assert doc["models"][name]["summary"]["rtf"] > 0


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
