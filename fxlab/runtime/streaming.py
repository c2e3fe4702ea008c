"""Processors: run any fxlab model over audio, block by block or whole, state carried between blocks.

One class family, one processor per kind of network, each with ``process(block)`` and ``reset()``;
:func:`make_processor` picks the right one from the model's own config and :func:`render` runs a
whole signal through it (the one offline inference path: ``TrainedModel.predict``, the
evaluation, the listening test, the latency measurement, the benchmarks and training's
validation all call it). A processor takes blocks of any size (1 sample to a whole file; sizes may
change from block to block) and returns as many output samples, equal to the Keras model's output
on the whole signal within 1e-5 (the tests check block sizes 1, 7 and 64 for every kind).

========================= ========= =====================================================================
class                     ``kind``  how the past is carried
========================= ========= =====================================================================
:class:`RecurrentProcessor` ``rnn`` LSTM/GRU: the recurrent state, inside an :mod:`fxlab.runtime.engines`
                                    engine (numba by default; any engine by name)
:class:`ConvProcessor`    ``tcn``   the causal TCN: the compiled kernel of :mod:`fxlab.runtime.tcn_kernel`
                                    keeps each layer's past inputs (``engine="keras"``: a buffer of the
                                    last ``receptive_field - 1`` input samples, the network re-run over
                                    ``[buffer, block]``)
:class:`WindowedProcessor` ``windowed`` the thesis's networks: a buffer of the last ``window - 1``
                                    samples (zeros at the start); each output sample is one forward
                                    pass over its own window, as the thesis measured (section 4.1.1);
                                    the windows of a block go through the network in batches
:class:`GrayboxProcessor` ``graybox`` the traditional emulator: its recursive filters' states, in the
                                    compiled kernel of :mod:`fxlab.runtime.graybox_kernel`
:class:`OddProcessor`     the core's an odd network (``odd=1``): two processors of its core, on the block and
                                    on the block negated (two states); half their difference
========================= ========= =====================================================================

No algorithmic latency is added beyond the block itself: output sample ``n`` is returned in the
same call that delivers input sample ``n``.

Knobs. A knob-conditioned LSTM/GRU or TCN (``knobs=K``, :mod:`fxlab.models.recurrent`,
:mod:`fxlab.models.tcn`) reads ``K`` knob values beside every sample.
``processor.set_knobs(gain_db=30)`` sets a knob's target, in the knob's own units, checked
against its range; ``process(block)`` feeds the network the values smoothed sample by sample by
a one-pole low-pass of time constant :data:`KNOB_SMOOTHING_S`
(10 ms: 63 % of a step in 10 ms, 99 % in 46 ms), on the normalised [0, 1] scale, so a knob moved
mid-stream glides instead of stepping (no click). Before the first block after a reset the
values jump to their targets (there is nothing to glide from). :func:`smooth_knobs` is that
smoothing, for a caller that wants the trajectory the network was fed. The knobs' names and
ranges come from ``make_processor(..., knobs=[Knob, ...])``, else from the model's
``config["knobs"]`` (a list of :meth:`fxlab.effects.Knob.to_dict`), else they are ``knob_0`` ...
in [0, 1] (already normalised).

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

import math
import os

import numpy as np

from fxlab import models as fx_models
from fxlab.audio import STUDY_SR
from fxlab.effects.base import Knob
from fxlab.errors import (
    EngineUnavailableError,
    LevelWarning,
    ParameterError,
    problem,
    unknown_name,
)
from fxlab.models import graybox, tcn
from fxlab.runtime import graybox_kernel, kernels, tcn_kernel
from fxlab.runtime.engines import ENGINE_NAMES, as_block, make_engine
from fxlab.runtime.knobs import KNOB_SMOOTHING_S, knobs_of

__all__ = [
    "ConvProcessor",
    "Processor",
    "RecurrentProcessor",
    "WindowedProcessor",
    "check_block_size",
    "make_processor",
    "processor_class",
    "render",
]

#: Windows per forward call of a windowed network (speed and memory only, not the result). Measured
#: on a 2-core CPU (``python -m fxlab.bench windowed``): 1024 runs the reduced LSTM 2.1x and the GRU
#: 1.7x faster than 256 (1,394 and 2,003 windows/s); larger batches gain little more. A GPU wants
#: far more per call: set ``FXLAB_WINDOW_BATCH`` (read at import; ``scripts/thesis_on_gpu.sh`` sets
#: 2048).
WINDOW_BATCH = int(os.environ.get("FXLAB_WINDOW_BATCH", "1024"))


def check_block_size(block_size, *, name: str = "block_size") -> int:
    """Check a block size and return it as an ``int``.

    Parameters
    ----------
    block_size : int > 0 [samples]
        Python ``int`` or numpy integer; floats (even ``64.0``), bools and strings are refused.

    Raises
    ------
    ParameterError
        For 0, negative numbers and anything that is not an integer.
    """
    if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer):
        raise ParameterError(problem(
            f"{name}={block_size!r}", found=f"a {type(block_size).__name__}",
            expected="a whole number of samples >= 1, e.g. 64",
            fix=f"pass an int (e.g. {name}=64)",
        ))
    if block_size < 1:
        raise ParameterError(problem(
            f"{name}={block_size!r}", found="a block of no samples" if block_size == 0 else "a negative size",
            expected="a whole number of samples >= 1, e.g. 64",
            fix=f"pass {name}=1 or more (64 samples = 1.45 ms at 44.1 kHz)",
        ))
    return int(block_size)


LEVEL_HEADROOM_DB = 1.0
"""A processor warns when its input peaks more than this above the loudest input its model was
trained on (:meth:`Processor.watch_level`)."""


class Processor:
    """Block-by-block processing of one fxlab model (base class; see :func:`make_processor`).

    Attributes
    ----------
    name : str
        The model's name.
    kind : str
        ``"rnn"``, ``"tcn"`` or ``"windowed"``.
    engine_name : str
        What runs the network: ``"numba"``, ``"xla"``, ... or ``"keras"`` (in ``tf.function``).
    buffer_samples : int
        Input samples kept between blocks (0 where a state or per-layer buffers are kept instead).
    sr : int [Hz]
        The model's sample rate (used to check WAV files and to report timings).
    """

    kind = "model"
    #: The engines this kind of network runs on, fastest first (the first is what "auto" means).
    engines: tuple[str, ...] = ()

    def __init__(self, model, config: dict, *, sr: int = STUDY_SR):
        self.model = model
        self.config = config
        self.name = str(getattr(model, "name", None) or config["name"])
        self.sr = int(sr)
        self.buffer_samples = 0
        self.engine_name = "keras"
        #: The knobs the network reads beside the audio (empty: not conditioned).
        self.knobs: tuple[Knob, ...] = ()
        self._target = self._now = np.zeros(0, np.float64)
        self._fresh = True
        self._moving = False
        self._level_limit = math.inf  # watch_level: no limit until a model folder gives one
        self._level_what = ""

    def watch_level(self, peak_dbfs: float | None, *, what: str = "") -> None:
        """Warn once (:class:`fxlab.errors.LevelWarning`) when an input block peaks more than
        :data:`LEVEL_HEADROOM_DB` above ``peak_dbfs`` (the loudest input the model was trained
        on: beyond it the network extrapolates). ``None`` watches nothing."""
        self._level_limit = (math.inf if peak_dbfs is None or not math.isfinite(peak_dbfs)
                             else 10.0 ** ((float(peak_dbfs) + LEVEL_HEADROOM_DB) / 20.0))
        self._level_what = what or f"model {self.name!r}"

    def _check_level(self, x: np.ndarray) -> None:
        peak = kernels.peak(x)
        if peak > self._level_limit:
            import warnings

            trained = 20.0 * math.log10(self._level_limit) - LEVEL_HEADROOM_DB
            warnings.warn(
                f"{self._level_what} is fed input peaking at {20.0 * math.log10(peak):+.1f} dBFS, "
                f"louder than anything it was trained on ({trained:+.1f} dBFS peak): its output "
                "there is extrapolation. Turn the input down, or train on louder material "
                "(record the loudest playing you will use). (Said once.)",
                LevelWarning, stacklevel=3)
            self._level_limit = math.inf

    def _setup_knobs(self, model, n_knobs: int, knobs) -> None:
        """Take the knob declarations of a network with ``n_knobs`` knob inputs (see the module
        text); the targets start at the knobs' defaults."""
        if n_knobs == 0 and knobs:
            raise ParameterError(problem(
                f"model {self.name!r}", found=f"{len(knobs)} knobs given",
                expected="no knobs (the network has no knob inputs)", fix="leave knobs out"))
        self.knobs = knobs_of(model, n_knobs, knobs) if n_knobs else ()
        self._target = np.array([k.normalise(k.default) for k in self.knobs], np.float64)
        # set_knobs runs once a block in a plugin: names, ranges and scales looked up once here
        self._index = {k.name: i for i, k in enumerate(self.knobs)}
        self._scales = [(k.low, k.high, k.scale == "log",
                         1.0 / (math.log(k.high / k.low) if k.scale == "log" else k.high - k.low))
                        for k in self.knobs]
        self._powers: dict[int, np.ndarray] = {}  # block size -> the glide's r ** (1..n)
        self._rest: dict[int, np.ndarray] = {}  # block size -> the targets held, [n, K] float32
        self._reset_knobs()

    def _reset_knobs(self) -> None:
        """After a reset the values jump to their targets before the first block."""
        self._now = self._target.copy()
        self._fresh = True
        self._moving = False  # True while the values glide towards their targets

    def _knob_trajectory(self, n: int) -> np.ndarray:
        """The smoothed knob rows ``[n, K]`` (float32, C-contiguous, finite: made from checked
        targets) fed with the next ``n`` samples.

        At rest (no move since the glide arrived) the targets held over the block, cached per
        block size; while gliding :func:`smooth_knobs`, with its powers cached per block size. A
        glide has arrived when every value is within 1e-12 of its target (far below float32's
        resolution).
        """
        self._fresh = False
        if not self._moving:
            held = self._rest.get(n)
            if held is None:
                held = np.ascontiguousarray(np.broadcast_to(
                    self._target.astype(np.float32), (n, len(self.knobs))))
                if len(self._rest) < 16:
                    self._rest[n] = held
            return held
        powers = self._powers.get(n)
        if powers is None:
            powers = np.exp(-1.0 / (KNOB_SMOOTHING_S * self.sr)) ** np.arange(1, n + 1,
                                                                              dtype=np.float64)
            if len(self._powers) < 16:
                self._powers[n] = powers
        traj = self._target[None, :] + (self._now - self._target)[None, :] * powers[:, None]
        self._now = traj[-1].copy()
        if float(np.max(np.abs(self._now - self._target))) < 1e-12:
            self._now = self._target.copy()
            self._moving = False
        return traj.astype(np.float32)

    def reset(self) -> None:
        """Forget everything heard so far (call between files)."""
        raise NotImplementedError

    def set_knobs(self, **values: float) -> None:
        """Set knob targets, in each knob's units (e.g. ``set_knobs(gain_db=30.0)``).

        The network is fed the values gliding towards them (one-pole, :data:`KNOB_SMOOTHING_S`),
        except before the first block after a reset, when they jump.

        Raises
        ------
        UnknownNameError
            A name that is not one of :attr:`knobs`.
        ParameterError
            A value outside its knob's range, or a network without knobs.
        """
        if not self.knobs:
            raise ParameterError(problem(
                f"{self.kind} network {self.name!r}", found=f"set_knobs({', '.join(values)})",
                expected="a network built with knobs=K > 0 (lstm, gru or tcn)",
                fix="build and train the model with knobs=K to condition it on knob values"))
        for name, value in values.items():
            i = self._index.get(name)
            if i is None:
                raise unknown_name(f"knob of model {self.name!r}", name, list(self._index))
            low, high, log, inv = self._scales[i]
            if type(value) is not float or not low <= value <= high:  # the full check, and why
                value = self.knobs[i].check(value, f"model {self.name!r}")
            # Knob.normalise, on a Python float (a few times faster than through numpy)
            self._target[i] = math.log(value / low) * inv if log else (value - low) * inv
        self._rest.clear()
        if self._fresh:
            self._now = self._target.copy()
        else:
            self._moving = True

    @property
    def knob_values(self) -> dict[str, float]:
        """The smoothed knob values after the last sample processed, in knob units."""
        return {k.name: float(k.denormalise(u)) for k, u in zip(self.knobs, self._now, strict=True)}

    def process(self, block: np.ndarray) -> np.ndarray:
        """Process the next block.

        Parameters
        ----------
        block : np.ndarray [shape=(n,), float32], n >= 0
            The next ``n`` input samples; ``n`` may differ from call to call.

        Returns
        -------
        out : np.ndarray [shape=(n,), float32]
            The output samples for exactly these input samples.
        """
        x = as_block(block)
        if not x.size:
            return x
        if self._level_limit != math.inf:
            self._check_level(x)
        return self._process(x)

    def _process(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def process_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """Process the next block given as the network's own input rows, knob values included.

        What training and validation feed a knob-conditioned network: per-sample knob values
        already normalised to [0, 1], taken as they are (no smoothing; :attr:`knob_values` is not
        moved). The state is carried as by :meth:`process`.

        Parameters
        ----------
        inputs : np.ndarray [shape=(n, 1 + K), float32]
            Column 0 the audio, columns 1..K the knobs in the network's input order (``K`` =
            ``len(self.knobs)``; an unconditioned network takes ``(n, 1)`` or ``(n,)``).

        Returns
        -------
        out : np.ndarray [shape=(n,), float32]
        """
        a = np.asarray(inputs, dtype=np.float32)
        if a.ndim == 1:
            a = a[:, None]
        k = len(self.knobs)
        if a.ndim != 2 or a.shape[1] != 1 + k:
            raise ParameterError(problem(
                f"inputs of model {self.name!r}", found=f"shape {a.shape}",
                expected=f"(n, {1 + k}): the audio then {k} normalised knob value(s) per sample",
                fix="stack the audio and the knob columns, e.g. fxlab.conditioning.knob_inputs"))
        x = as_block(a[:, 0])
        if not x.size:
            return x
        if not k:
            return self._process(x)
        return self._process_knobs(x, np.ascontiguousarray(a[:, 1:]))

    def _process_knobs(self, x: np.ndarray, knobs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _check_engine(self, engine: str) -> None:
        if engine != "auto" and engine not in self.engines:
            raise EngineUnavailableError(problem(
                f"engine {engine!r} for the {self.kind} network {self.name!r}", found=repr(engine),
                expected=f"one of {', '.join(self.engines)} (the first is the default)",
                fix="pass engine='auto'; the other engines run other kinds of network",
            ))

    def process_signal(self, x: np.ndarray, *, block_size: int) -> np.ndarray:
        """Reset, then stream a whole signal through in blocks of ``block_size`` samples.

        Parameters
        ----------
        x : np.ndarray [shape=(n,), float32]
        block_size : int >= 1 [samples]
            The last block may be shorter.

        Returns
        -------
        y : np.ndarray [shape=(n,), float32]
        """
        block_size = check_block_size(block_size)
        x = np.asarray(x, dtype=np.float32)
        self.reset()
        out = [self.process(x[i : i + block_size]) for i in range(0, x.size, block_size)]
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} kind={self.kind} engine={self.engine_name}>"


class RecurrentProcessor(Processor):
    """A sample-level LSTM/GRU: the recurrent state inside an engine (``engine="auto"``: numba).

    A knob-conditioned network also carries its knob values, smoothed (see the module text):
    :meth:`set_knobs` sets targets, :attr:`knob_values` reads the smoothed values now.
    """

    kind = "rnn"
    engines = ENGINE_NAMES

    def __init__(self, model, config: dict, *, engine: str = "auto", sr: int = STUDY_SR,
                 knobs=None):
        super().__init__(model, config, sr=sr)
        self._engine = make_engine(model, engine)
        self.engine_name = self._engine.name
        self._setup_knobs(model, self._engine.spec.knobs, knobs)
        self.reset()

    def reset(self) -> None:
        self._engine.reset()
        self._reset_knobs()

    def _process(self, x):
        if not self.knobs:
            self._fresh = False
            return self._engine.process(x)
        # the rows are made here from checked targets: straight to the kernel, without the
        # engine's input checks (about a sixth of a 64-sample block of an LSTM-32)
        return self._engine._run(x, self._knob_trajectory(x.size))

    def _process_knobs(self, x, knobs):
        self._fresh = False
        return self._engine.process(x, knobs)


class ConvProcessor(Processor):
    """The causal TCN.

    ``engine="numba"`` (and ``"auto"``): the compiled kernel, which keeps each layer's past inputs
    (``dilation * (kernel - 1)`` per layer), so a block costs only its own samples' work.
    ``engine="keras"``: the Keras network re-run over the last ``receptive_field - 1`` input
    samples and the block. While fewer samples than that have arrived the buffer holds the whole
    signal so far, so the network's causal zero padding sits where it sits offline.

    A knob-conditioned TCN (FiLM) carries its knob values as :class:`RecurrentProcessor` does
    (:meth:`set_knobs`, :attr:`knob_values`, the same smoothing); the Keras engine's buffer then
    holds the past input rows, audio and the knob values they were fed with.
    """

    kind = "tcn"
    engines = ("numba", "keras")

    def __init__(self, model, config: dict, *, engine: str = "auto", sr: int = STUDY_SR,
                 knobs=None):
        super().__init__(model, config, sr=sr)
        self.receptive_field = int(config["receptive_field"])
        self._check_engine(engine)
        km = fx_models.keras_of(model)
        self._width = int(km.inputs[0].shape[-1])
        self._setup_knobs(model, self._width - 1, knobs)
        self._kernel = None
        if engine in ("auto", "numba"):
            try:
                spec = tcn.tcn_spec(km, film=True)
                self._kernel = tcn_kernel.TcnKernel(spec)
                self.engine_name = "numba"
            except EngineUnavailableError:
                if engine == "numba":
                    raise
        if self._kernel is None:
            self.buffer_samples = self.receptive_field - 1
            self._fn = _forward_fn(km, None)
        self.reset()

    def reset(self) -> None:
        if self._kernel is not None:
            self._kernel.reset()
        elif self.knobs:
            self._hist = np.zeros((0, self._width), np.float32)
        else:
            self._hist = np.zeros(0, np.float32)
        self._reset_knobs()

    def _process(self, x):
        if not self.knobs:
            self._fresh = False
            return self._run(x, None)
        return self._run(x, self._knob_trajectory(x.size))

    def _process_knobs(self, x, knobs):
        self._fresh = False
        return self._run(x, knobs)

    def _run(self, x, knobs):
        """The network on the block ``x`` (with knob rows ``knobs [n, K]``, or None)."""
        if self._kernel is not None:
            return self._kernel.process(x, knobs)
        rows = x if knobs is None else np.concatenate([x[:, None], knobs], axis=1)
        ext = np.concatenate([self._hist, rows])
        y = self._fn(ext)[-x.size:]
        keep = self.buffer_samples
        self._hist = ext[-keep:] if keep else ext[:0]
        return np.ascontiguousarray(y, np.float32)


class GrayboxProcessor(Processor):
    """The gray-box emulator (:mod:`fxlab.models.graybox`): its recursive filters' states in the
    compiled kernel of :mod:`fxlab.runtime.graybox_kernel`. A knob-conditioned one carries its
    knob values as :class:`RecurrentProcessor` does (:meth:`set_knobs`, the same smoothing)."""

    kind = "graybox"
    engines = ("numba",)

    def __init__(self, model, config: dict, *, engine: str = "auto", sr: int = STUDY_SR,
                 knobs=None):
        super().__init__(model, config, sr=sr)
        self._check_engine(engine)
        spec = graybox.spec_of(model)
        self._kernel = graybox_kernel.GrayboxKernel(spec)
        self.engine_name = "numba"
        self._setup_knobs(model, spec.knobs, knobs)
        self.reset()

    def reset(self) -> None:
        self._kernel.reset()
        self._reset_knobs()

    def _process(self, x):
        if not self.knobs:
            self._fresh = False
            return self._kernel.process(x)
        return self._kernel.process(x, self._knob_trajectory(x.size))

    def _process_knobs(self, x, knobs):
        self._fresh = False
        return self._kernel.process(x, knobs)


class WindowedProcessor(Processor):
    """The thesis's windowed networks: one forward pass per output sample over its own window.

    Output sample ``n`` is the network's output for the window ``x[n - window + 1 : n + 1]``; before
    the start the window holds zeros, so sample ``n`` depends on no future input (causal, as a
    plugin would run it). The windows of a block go through the network :data:`WINDOW_BATCH` at a
    time.
    """

    kind = "windowed"
    engines = ("keras",)

    def __init__(self, model, config: dict, *, engine: str = "auto", sr: int = STUDY_SR):
        super().__init__(model, config, sr=sr)
        self._check_engine(engine)
        self.window = int(config["window"])
        self.buffer_samples = self.window - 1
        self.window_batch = WINDOW_BATCH  # windows per forward call: speed and memory only
        self._fn = _forward_fn(fx_models.keras_of(model), self.window)
        self.reset()

    def reset(self) -> None:
        self._hist = np.zeros(self.buffer_samples, np.float32)

    def _process(self, x):
        ext = np.concatenate([self._hist, x])
        self._hist = ext[ext.size - self.buffer_samples:].copy()
        return self._forward(np.lib.stride_tricks.sliding_window_view(ext, self.window))

    def at(self, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Offline outputs at times ``t`` only of the whole signal ``x`` (zeros before its start).

        For spot checks (training's validation scores evenly spaced windows): the same forward
        passes as :meth:`process` over the whole signal, for the windows ending at ``t`` alone.
        The streaming state is neither used nor changed.

        Parameters
        ----------
        x : np.ndarray [shape=(n,), float32]
        t : np.ndarray [shape=(m,), int], values in [0, n)

        Returns
        -------
        y : np.ndarray [shape=(m,), float32]
        """
        x = np.asarray(x, np.float32).reshape(-1)
        t = np.asarray(t, np.int64).reshape(-1)
        padded = np.concatenate([np.zeros(self.buffer_samples, np.float32), x])
        return self._forward(np.lib.stride_tricks.sliding_window_view(padded, self.window)[t])

    def _forward(self, frames: np.ndarray) -> np.ndarray:
        """One output per window of ``frames [m, window]``, :attr:`window_batch` windows a call."""
        out = np.empty(frames.shape[0], np.float32)
        b = self.window_batch
        for i in range(0, frames.shape[0], b):
            out[i : i + b] = self._fn(frames[i : i + b])
        return out


_PROCESSORS = {"windowed": WindowedProcessor, "lstm": RecurrentProcessor,
               "gru": RecurrentProcessor, "tcn": ConvProcessor, "graybox": GrayboxProcessor}


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
    return _PROCESSORS["windowed" if config["family"] == "windowed" else config["name"]]


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


_FORWARD_CACHE: dict[int, object] = {}


def _forward_fn(km, window: int | None):
    """``frames [B, W] -> np.ndarray (B,)`` (windowed) or ``x [T] -> y [T]`` (sample-level;
    ``x [T, 1 + K]`` for a knob-conditioned network: the audio and knob values of every sample)."""
    key = id(km)
    cached = _FORWARD_CACHE.get(key)
    if cached is not None and cached[0] is km:
        return cached[1]
    import keras

    width = int(km.inputs[0].shape[-1])

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if window is not None:
            sig = [tf.TensorSpec([None, window, 1], tf.float32)]
        else:
            sig = [tf.TensorSpec([1, None, width], tf.float32)]
        call = tf.function(lambda a: km(a, training=False), input_signature=sig, reduce_retracing=True)
    elif keras.backend.backend() == "jax":
        import jax

        # One compiled function per input shape, fed the model's variables at every call: a
        # closure over the model would bake this moment's weights into the compiled function,
        # and training's validation calls it again after every epoch.
        stateless = jax.jit(lambda tv, ntv, a: km.stateless_call(tv, ntv, a, training=False)[0])

        def call(a):
            return stateless([v.value for v in km.trainable_variables],
                             [v.value for v in km.non_trainable_variables], a)
    else:
        def call(a):
            return km(a, training=False)

    if window is not None:
        def fn(frames):
            frames = np.ascontiguousarray(frames, np.float32)
            return np.asarray(call(frames[..., None])).reshape(frames.shape[0], -1)[:, -1]
    else:
        def fn(x):
            a = np.ascontiguousarray(x, np.float32).reshape(1, -1, width)
            return np.asarray(call(a)).reshape(-1)

    _FORWARD_CACHE[key] = (km, fn)
    return fn
