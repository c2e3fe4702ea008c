"""The settings of one training run: :class:`TrainConfig` (frozen, saved as ``config.json``).

- :class:`TrainConfig`, :data:`LR_SCHEDULES`, :func:`learning_rate_at`
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.models import MODEL_NAMES, family_of, model_config

__all__ = ["LR_SCHEDULES", "TrainConfig", "learning_rate_at"]

LR_SCHEDULES = ("auto", "constant", "cosine", "cosine_budget", "exponential")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of one training run (frozen; ``to_dict()`` is what ``config.json`` holds).

    Attributes
    ----------
    model : str
        One of :data:`fxlab.models.MODEL_NAMES`.
    model_params : dict
        Overrides of the model's defaults (``units``, ``window``, ``layers`` ...).
    loss : str
        Loss spec, see :func:`fxlab.losses.parse_loss` (``"esr"``, ``"0.75*esr_pre+0.25*dc"``).
        Windowed models accept only ``mse``, ``esr`` and ``dc`` (no contiguous time axis).
    epochs : int >= 1
        Maximum number of epochs.
    batch_size : int >= 1
        Segments (sample-level) or windows (windowed) per step.
    learning_rate : float > 0
        Adam's initial learning rate.
    lr_schedule : {"auto", "constant", "cosine", "cosine_budget", "exponential"}
        Set at the start of every epoch. ``cosine`` decays to ``lr_final`` x the initial rate at
        the last epoch; ``cosine_budget`` decays the same way over the time budget
        (``max_minutes``): the rate of an epoch follows the fraction of the budget spent when it
        starts, so a run that stops at the budget ends near ``lr_final`` whatever the epoch count
        (without a budget it is ``cosine``); exponential multiplies by ``lr_final ** (1 / epochs)``
        every epoch. ``auto``: ``cosine_budget`` for sample-level models given a budget, else
        ``cosine`` (see :attr:`schedule`).
    lr_final : float in (0, 1]
        Final rate as a fraction of the initial one.
    patience : int >= 1
        Stop after this many epochs without improvement of ``monitor`` (thesis: 100).
    monitor : str
        History column the best epoch and early stopping follow ("" -> ``val1_loss`` when a
        ``val1`` split exists, else the first validation split's loss, else ``loss``).
    segment : int
        Sample-level: segment length in samples (the BPTT length), ``warmup`` included.
    warmup : int
        Sample-level: samples at the start of each segment excluded from the loss.
    segments_per_epoch : int >= 0
        Sample-level: segments drawn per epoch (0: every segment of the signal once).
    windows_per_epoch : int >= 0
        Windowed: windows drawn per epoch (0: every window, a full pass; the thesis's RNN epochs
        were slices of the set, see ``docs/THESIS_BUDGET.md``).
    val_windows : int >= 1
        Windowed: windows (evenly spaced) per validation split and epoch.
    val_max_samples : int >= 0
        Sample-level: validate on the first so many samples of each split (0: all).
    max_minutes : float >= 0
        Training-time budget in minutes (0: none); checked after every step.
    pre_emphasis : float
        Coefficient of the ``esr_pre`` loss term.
    clipnorm : float >= 0
        Gradient-norm clipping for Adam (0: none).
    jit_compile : bool or None
        Compile the training step with XLA. None: on the JAX backend only (there an uncompiled
        step dispatches every op on its own); on TensorFlow XLA made the LSTM-32's step 2-3x
        slower on 2 cores (docs/TRAINING_SPEED.md).
    seed : int
        Seeds the weights, the data order and the windows drawn.
    """

    model: str = "lstm"
    model_params: dict = field(default_factory=dict)
    loss: str = "esr"
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 5e-3
    lr_schedule: str = "auto"
    lr_final: float = 0.02
    patience: int = 100
    monitor: str = ""
    segment: int = 512
    warmup: int = 64
    segments_per_epoch: int = 0
    windows_per_epoch: int = 0
    val_windows: int = 2048
    val_max_samples: int = 0
    max_minutes: float = 0.0
    pre_emphasis: float = 0.85
    clipnorm: float = 0.0
    jit_compile: bool | None = None
    seed: int = 0

    def __post_init__(self):
        if self.model not in MODEL_NAMES:
            raise unknown_name("model", self.model, MODEL_NAMES)
        object.__setattr__(self, "model_params", dict(self.model_params))
        model_config(self.model, **self.model_params)  # checks the overrides
        ints = {"epochs": 1, "batch_size": 1, "patience": 1, "segment": 2, "warmup": 0,
                "segments_per_epoch": 0, "windows_per_epoch": 0, "val_windows": 1,
                "val_max_samples": 0}
        for name, lo in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ParameterError(problem(f"training parameter {name}={v!r}", found=repr(v),
                                             expected=f"an integer >= {lo}", fix=f"set {name} to an integer >= {lo}"))
            object.__setattr__(self, name, int(v))
        floats = {"learning_rate": (0.0, False), "max_minutes": (0.0, True), "clipnorm": (0.0, True)}
        for name, (lo, closed) in floats.items():
            v = getattr(self, name)
            if not isinstance(v, int | float) or not math.isfinite(v) or v < lo or (v == lo and not closed):
                raise ParameterError(problem(f"training parameter {name}={v!r}", found=repr(v),
                                             expected=f"a number {'>=' if closed else '>'} {lo}",
                                             fix=f"set {name} to such a number"))
        if self.jit_compile not in (None, True, False):
            raise ParameterError(problem(f"jit_compile={self.jit_compile!r}", found=repr(self.jit_compile),
                                         expected="True, False or None (automatic)", fix="leave it at None"))
        if not 0.0 < self.lr_final <= 1.0:
            raise ParameterError(problem(f"lr_final={self.lr_final!r}", found=repr(self.lr_final),
                                         expected="a fraction in (0, 1]", fix="use e.g. 0.05"))
        if self.lr_schedule not in LR_SCHEDULES:
            raise unknown_name("learning-rate schedule", self.lr_schedule, LR_SCHEDULES)
        if self.warmup >= self.segment:
            raise ParameterError(problem(
                f"warmup={self.warmup} with segment={self.segment}", found="a warm-up as long as the segment",
                expected="warmup < segment (samples)", fix="shorten the warm-up or lengthen the segment"))
        from fxlab.losses import SEQUENCE_LOSSES, CompositeLoss, parse_loss

        terms = parse_loss(self.loss)
        if self.family == "windowed" and set(terms) & set(SEQUENCE_LOSSES):
            raise ParameterError(problem(
                f"loss {self.loss!r} for windowed model {self.model!r}",
                found=f"{sorted(set(terms) & set(SEQUENCE_LOSSES))}, which need contiguous time",
                expected="mse, esr or dc (a windowed model predicts isolated samples)",
                fix="use loss='mse' (the thesis's) for windowed models"))
        if "mrstft" in terms:
            need = max(CompositeLoss(terms).fft_sizes)
            if self.segment - self.warmup < need:
                raise ParameterError(problem(
                    f"segment={self.segment} - warmup={self.warmup} with the mrstft loss",
                    found=f"{self.segment - self.warmup} samples per segment in the loss",
                    expected=f">= {need} (the largest FFT size)", fix=f"set segment >= {need + self.warmup}"))

    @property
    def family(self) -> str:
        return family_of(self.model)

    @property
    def schedule(self) -> str:
        """The schedule in force: ``lr_schedule`` with ``auto`` resolved."""
        if self.lr_schedule == "auto":
            return "cosine_budget" if self.max_minutes and self.family == "sample" else "cosine"
        return self.lr_schedule

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)


# Settings a resumed run may change without invalidating the checkpoint.
RESUMABLE_CHANGES = {"epochs", "max_minutes", "patience"}


def learning_rate_at(config: TrainConfig, epoch: int, budget_spent: float | None = None) -> float:
    """Learning rate of ``epoch`` (0-based) under ``config``'s schedule.

    ``budget_spent`` in [0, 1] is the fraction of the time budget spent when the epoch starts;
    ``cosine_budget`` follows it (given a budget; otherwise, or without it, the epoch).
    """
    lr0, n = config.learning_rate, max(config.epochs - 1, 1)
    schedule = config.schedule
    if schedule == "constant":
        return lr0
    if schedule == "exponential":
        return lr0 * config.lr_final ** (min(epoch, n) / n)
    if schedule == "cosine_budget" and config.max_minutes and budget_spent is not None:
        where = min(max(float(budget_spent), 0.0), 1.0)
    else:
        where = min(epoch, n) / n
    frac = 0.5 * (1.0 + math.cos(math.pi * where))
    return lr0 * (config.lr_final + (1.0 - config.lr_final) * frac)
