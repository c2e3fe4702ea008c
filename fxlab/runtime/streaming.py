"""Processors: run any fxlab model over audio, block by block or whole, state carried between blocks.

One class family, one processor per kind of network, each with ``process(block)`` and ``reset()``;
:func:`make_processor` picks the right one from the model's own config and :func:`render` runs a
whole signal through it (the one offline inference path: ``TrainedModel.predict``, the
evaluation, the listening test, the latency measurement, the benchmarks and training's
validation all call it). A processor takes blocks of any size (1 sample to a whole file; sizes may
change from block to block) and returns as many output samples, equal to the Keras model's output
on the whole signal within 1e-5 (the tests check block sizes 1, 7 and 64 for every kind).

The kinds and how each carries its past: the table in :mod:`fxlab.runtime.processors`
(recurrent, convolutional, windowed, gray-box). :class:`OddProcessor` (here) runs an odd network
(``odd=1``) as two processors of its core, on the block and on the block negated (two states),
and returns half their difference.

No algorithmic latency is added beyond the block itself: output sample ``n`` is returned in the
same call that delivers input sample ``n``.

The processors live in :mod:`fxlab.runtime.processors` (one class per kind), their base
:class:`Processor` in :mod:`fxlab.runtime.processor` (with the knobs: how a moved knob reaches
the network); this module chooses and composes them.

Functions and classes
---------------------
- :func:`render`             a whole signal, offline, from a zero state: the fast exact path
- :func:`processor_class`    the processor class of a model (its ``kind`` and ``engines``)
- :func:`make_processor`     the processor for a model (``TrainedModel`` or Keras model built by
  :mod:`fxlab.models`)
- :class:`Processor`         the base: ``process(block)``, ``reset()``, ``process_signal(x, block_size=)``
- :func:`check_block_size`   the one validator of block sizes (raises ``ParameterError``)

The knob smoothing and declarations live in :mod:`fxlab.runtime.knobs`; streaming a WAV file
through a processor in :mod:`fxlab.runtime.files`.
"""

from __future__ import annotations

import numpy as np

from fxlab import models as fx_models
from fxlab.audio import STUDY_SR
from fxlab.errors import ParameterError, problem
from fxlab.runtime.knobs import knobs_of
from fxlab.runtime.processor import LEVEL_HEADROOM_DB, Processor, check_block_size
from fxlab.runtime.processors import (
    PROCESSORS,
    WINDOW_BATCH,
    ConvProcessor,
    GrayboxProcessor,
    RecurrentProcessor,
    WindowedProcessor,
)

__all__ = [
    "LEVEL_HEADROOM_DB",
    "WINDOW_BATCH",
    "ConvProcessor",
    "GrayboxProcessor",
    "OddProcessor",
    "Processor",
    "RecurrentProcessor",
    "WindowedProcessor",
    "check_block_size",
    "make_processor",
    "processor_class",
    "render",
]


class OddProcessor(Processor):
    """An odd network (``odd=1``, :mod:`fxlab.models.base`): its core run twice, on the block and
    on the block negated, each with its own state; ``(pos(x) - neg(-x)) / 2``. Knobs are set on
    both alike. ``kind``, ``engines`` and the engine are the core's; it costs twice the core."""

    def __init__(self, model, config: dict, *, engine: str = "auto", sr: int = STUDY_SR, knobs=None):
        super().__init__(model, config, sr=sr)
        core = fx_models.odd_core(model)
        n_knobs = int(config.get("knobs", 0))
        if n_knobs and not knobs:
            knobs = knobs_of(model, n_knobs, None)
        self.pos, self.neg = (make_processor(core, engine=engine, sr=sr, knobs=knobs or None) for _ in "pn")
        self.kind, self.engines = self.pos.kind, self.pos.engines
        self.engine_name, self.buffer_samples = self.pos.engine_name, self.pos.buffer_samples
        self.knobs = self.pos.knobs

    def reset(self) -> None:
        self.pos.reset()
        self.neg.reset()

    def set_knobs(self, **values: float) -> None:
        self.pos.set_knobs(**values)
        self.neg.set_knobs(**values)

    @property
    def knob_values(self) -> dict[str, float]:
        return self.pos.knob_values

    def _process(self, x: np.ndarray) -> np.ndarray:
        return 0.5 * (self.pos.process(x) - self.neg.process(-x))

    def process_inputs(self, inputs: np.ndarray) -> np.ndarray:
        a = np.asarray(inputs, dtype=np.float32)
        flipped = -a if a.ndim == 1 else np.concatenate([-a[:, :1], a[:, 1:]], axis=1)
        return 0.5 * (self.pos.process_inputs(a) - self.neg.process_inputs(flipped))


def processor_class(model) -> type[Processor]:
    """The :class:`Processor` subclass that runs ``model`` (its ``kind`` and ``engines``)."""
    config = fx_models.config_of(model)
    return PROCESSORS["windowed" if config["family"] == "windowed" else config["name"]]


def make_processor(model, *, engine: str = "auto", sr: int = STUDY_SR, knobs=None) -> Processor:
    """The processor of ``model``, chosen by the model's own config.

    Parameters
    ----------
    model : fxlab.training.TrainedModel or keras.Model
        Any fxlab model (sample-level LSTM/GRU, causal TCN, or a windowed thesis network).
    engine : str
        ``"auto"`` (the fastest exact engine: numba for LSTM/GRU and the TCN, Keras in
        ``tf.function`` for windowed networks), or a name: for LSTM/GRU one of
        :data:`fxlab.runtime.engines.ENGINE_NAMES`, for the TCN ``"numba"`` or ``"keras"``.
    sr : int > 0 [Hz]
        The sample rate the model was trained at.
    knobs : sequence of fxlab.effects.Knob (or their dicts), optional
        A knob-conditioned network's knobs in its input order (``effect.knobs`` of the effect it
        learnt); default: the model's ``config["knobs"]``, else ``knob_0`` ... in [0, 1].

    Raises
    ------
    ParameterError
        ``model`` is not an fxlab model, or ``knobs`` for a network without knob inputs.
    UnknownNameError, EngineUnavailableError
        The engine does not exist or cannot run this model (the message says why).
    """
    cls = processor_class(model)
    config = fx_models.config_of(model)
    if config.get("odd"):
        return OddProcessor(model, config, engine=engine, sr=sr, knobs=knobs)
    if cls is not WindowedProcessor:
        return cls(model, config, engine=engine, sr=sr, knobs=knobs)
    if knobs:
        raise ParameterError(problem(
            f"model {getattr(model, 'name', '')!r}", found=f"{len(knobs)} knobs given",
            expected=f"no knobs (a {cls.kind} network has no knob inputs)", fix="leave knobs out"))
    return cls(model, fx_models.config_of(model), engine=engine, sr=sr)


def render(model, x: np.ndarray, *, engine: str = "auto", knobs=None) -> np.ndarray:
    """Run ``model`` over a whole signal, offline, from a zero state: the fast exact path.

    Parameters
    ----------
    model : TrainedModel, keras.Model or Processor
        Any fxlab model, or a processor made by :func:`make_processor` (reset first, then reused:
        no weights are packed again).
    x : np.ndarray [shape=(n,), float32, values in [-1, 1]]
    engine : str
        See :func:`make_processor` (ignored when ``model`` is a processor).
    knobs : dict, optional
        A knob-conditioned network's setting, ``{knob name: value}`` in knob units, held over the
        whole signal (knobs left out stay at their defaults, or at the processor's targets).

    Returns
    -------
    y : np.ndarray [shape=(n,), float32]
        Equal to the Keras model's output on ``x[None, :, None]`` within 1e-5 (sample-level), or to
        every zero-padded window's output (windowed).
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ParameterError(problem(
            "signal", found=f"shape {x.shape}", expected="mono audio of shape (n,)",
            fix="pass one channel, e.g. x[:, 0]",
        ))
    proc = model if isinstance(model, Processor) else make_processor(model, engine=engine)
    proc.reset()
    if knobs:
        proc.set_knobs(**knobs)
    return proc.process(x)
