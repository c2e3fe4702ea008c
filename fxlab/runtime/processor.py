"""The processor base: one fxlab model run block by block, its state carried between blocks.

:class:`Processor` is what every kind of network's processor shares (:mod:`fxlab.runtime.processors`
has one subclass per kind; :func:`fxlab.runtime.make_processor` picks it): ``process(block)`` for
blocks of any size, ``reset()``, ``process_signal(x, block_size=)``, the input-level watch
(:data:`LEVEL_HEADROOM_DB`) and the knobs of a knob-conditioned network. :func:`check_block_size`
is the one validator of block sizes.

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
"""

from __future__ import annotations

import math

import numpy as np

from fxlab.audio import STUDY_SR
from fxlab.effects.base import Knob
from fxlab.errors import EngineUnavailableError, LevelWarning, ParameterError, problem, unknown_name
from fxlab.runtime import kernels
from fxlab.runtime.engines import as_block
from fxlab.runtime.knobs import KNOB_SMOOTHING_S, knobs_of

__all__ = ["LEVEL_HEADROOM_DB", "Processor", "check_block_size"]


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
