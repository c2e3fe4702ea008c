"""The trained models of a run folder.

- :func:`find_models`  ``fxlab.training.load_trained`` on each ``models/<name>/`` of a run

Below :mod:`fxlab.evaluate.run` (which renders and scores them) and :mod:`fxlab.evaluate.knobs`
(which measures the harmonics of the conditioned ones); ``run`` re-exports it.
"""

from __future__ import annotations

import os
from pathlib import Path

from fxlab.errors import PipelineError, problem

__all__ = ["find_models"]


def find_models(run_dir: str | os.PathLike) -> list:
    """The trained models of a run: ``fxlab.training.load_trained`` on each ``models/<name>/``.

    Folders without ``model.keras`` (a training that did not finish) are skipped. Sorted by name.

    Raises
    ------
    PipelineError
        If ``run_dir/models`` holds no trained model.
    """
    # here, not at the top: fxlab.training imports Keras and TensorFlow (seconds)
    from fxlab.training import load_trained

    root = Path(run_dir) / "models"
    dirs = sorted(p for p in root.iterdir() if (p / "model.keras").exists()) if root.is_dir() else []
    if not dirs:
        raise PipelineError(problem(
            root, found="no trained model (no models/<name>/model.keras)",
            expected="at least one model trained by step 02_train",
            fix="run notebook 02_train first (fxlab run --steps 02_train)"))
    return [load_trained(d) for d in dirs]
