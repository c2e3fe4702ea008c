"""Training: the one entry point used by the notebook, the CLI and the benchmark.

A user's own dry/wet recording is trained by :mod:`fxlab.capture` (``fxlab train``), on top of this.

=================== =====================================================================================
module              what it holds
=================== =====================================================================================
``config``          :class:`TrainConfig` (every setting of one run, frozen; the folder's ``config.json``),
                    :func:`learning_rate_at`
``study``           :class:`StudyConfig` (notebook 02's parameters: ``StudyConfig.from_parameters``),
                    :func:`train_study`, :func:`describe_configs`
``data``            checked splits, the segments and windows of each epoch (seeded by epoch)
``loop``            :func:`train` one model into its folder (resumable), :func:`train_many`
``trained``         :func:`load_trained` -> :class:`TrainedModel` with ``.predict(x)`` (the runtime's
                    fast exact path) and ``.processor()`` (block by block)
``history``         :func:`read_history`, :func:`summary_table_html` (the curves:
                    :func:`fxlab.plots.training.plot_history`)
=================== =====================================================================================

How a model is trained
----------------------
Sample-level models (``lstm``, ``gru``, ``tcn``) see segments of ``segment`` samples cut from the
training signal at a random offset each epoch, shuffled; the state starts at zero in every segment
and backpropagation runs through the whole segment (truncated BPTT at the segment length); the first
``warmup`` samples of each segment are left out of the loss. Windowed models (the thesis's) see
``(window of the last N dry samples, wet sample)`` pairs (thesis Fig. 7); the signal is preceded by
``window - 1`` zeros so every sample has a window; each epoch draws ``windows_per_epoch`` of them at
random without replacement (``0``: all of them, a full pass), shuffled.

Every epoch the model is run over each validation split (Validation 1, synthetic; Validation 2,
speech) and its loss and plain ESR go into the history as ``<split>_loss`` and ``<split>_esr``.
Sample-level models run over the whole split (up to ``val_max_samples``), windowed ones over
``val_windows`` windows evenly spaced in the split, both through :mod:`fxlab.runtime` (the same
exact fast path as evaluation). Early stopping and the best epoch follow
``monitor`` (default ``val1_loss``: Validation 2 stays held out, so its numbers are not chosen on).
The thesis stopped after 100 epochs without improvement (``patience=100``).

Model folder (docs/ARCHITECTURE.md)::

    model.keras     the best epoch's model         config.json   TrainConfig + model config
    checkpoint/     last.npz: weights, optimizer variables, history, counters (for resume)
    history.csv     one row per epoch              summary.json  best_epoch, best_val, wall_s, ...
    logs/           TensorBoard scalars (TensorFlow backend only)

A checkpoint is written atomically after every epoch, so a run killed at any moment resumes with
``resume=True`` from the last finished epoch with the same weights, optimizer state and history;
the data of epoch ``k`` depend only on ``(seed, k)``, so a resumed run repeats an uninterrupted one
exactly -- except under a learning rate that follows the time budget (``cosine_budget``, what
``lr_schedule="auto"`` picks for sample-level models given ``max_minutes``): it follows measured
time, so a resumed run goes on along the same curve from the time it had spent, but not bit for
bit. ``history.csv`` is rewritten from the checkpointed history (rather than appended by
Keras's ``CSVLogger``) so it never holds an epoch that a resume would run again.

Reproducibility: ``keras.utils.set_random_seed(seed)`` and, on TensorFlow,
``tf.config.experimental.enable_op_determinism()``; on a CPU the same seed gives the same weights.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: keep its start-up chatter out of reports

from fxlab.training.config import LR_SCHEDULES, TrainConfig, learning_rate_at  # noqa: E402
from fxlab.training.history import read_history, summary_table_html  # noqa: E402
from fxlab.training.loop import train, train_many  # noqa: E402
from fxlab.training.study import StudyConfig, describe_configs, train_study  # noqa: E402
from fxlab.training.trained import TrainedModel, load_trained  # noqa: E402

__all__ = [
    "LR_SCHEDULES",
    "StudyConfig",
    "TrainConfig",
    "TrainedModel",
    "describe_configs",
    "learning_rate_at",
    "load_trained",
    "read_history",
    "summary_table_html",
    "train",
    "train_many",
    "train_study",
]
