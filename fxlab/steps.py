"""The study's steps, in order: what :mod:`fxlab.pipeline` runs and :mod:`fxlab.report` shows.

- :data:`STEPS`  every step of the study, in order; a step is the notebook ``notebooks/<step>.ipynb``

Its own module, below both: the pipeline builds the report, and the report orders a run's steps
(those of earlier invocations too) by this.
"""

from __future__ import annotations

__all__ = ["STEPS"]

#: Every step of the study, in order; a step is the notebook ``notebooks/<step>.ipynb``.
STEPS = ("01_synthesize_data", "02_train", "03_evaluate", "04_listening_test", "05_latency")
