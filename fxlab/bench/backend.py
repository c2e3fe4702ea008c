"""The Keras backend a benchmark trains on: :func:`run_on_backend` starts it again where needed.

The backend is fixed when Keras is first imported, so a benchmark asked for another backend than
the current process's starts itself again in a fresh process with ``KERAS_BACKEND`` set.

- :func:`default_backend`  ``"jax"`` when JAX is installed (it trains fxlab's LSTM ~3x faster on a
                           CPU, docs/TRAINING_SPEED.md), else ``"tensorflow"``
- :func:`run_on_backend`   ``None`` when this process already runs ``backend``, else the exit status
                           of the benchmark rerun under it
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

__all__ = ["default_backend", "run_on_backend"]


def default_backend() -> str:
    """``"jax"`` when JAX is installed, else ``"tensorflow"``."""
    return "jax" if importlib.util.find_spec("jax") is not None else "tensorflow"


def _current_backend() -> str:
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def run_on_backend(bench: str, argv: list[str], backend: str | None) -> int | None:
    """Rerun ``python -m fxlab.bench <bench> argv`` under ``backend`` unless already on it.

    ``backend`` None means :func:`default_backend`. Returns ``None`` when this process may go on
    (it runs that backend), else the rerun's exit status.
    """
    backend = backend or default_backend()
    if backend == _current_backend():
        return None
    env = dict(os.environ, KERAS_BACKEND=backend)
    rest = [a for i, a in enumerate(argv) if not (a.startswith("--backend") or
                                                  (i and argv[i - 1] == "--backend"))]
    cmd = [sys.executable, "-m", "fxlab.bench", bench, "--backend", backend, *rest]
    return subprocess.run(cmd, env=env, check=False).returncode
