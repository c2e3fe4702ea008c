"""One processor per kind of network (the base: :class:`fxlab.runtime.processor.Processor`).

========================= ============ ==================================================================
class                     ``kind``     how the past is carried
========================= ============ ==================================================================
:class:`RecurrentProcessor` ``rnn``    LSTM/GRU: the recurrent state, inside an :mod:`fxlab.runtime.engines`
                                       engine (numba by default; any engine by name)
:class:`ConvProcessor`    ``tcn``      the causal TCN: the compiled kernel of :mod:`fxlab.runtime.tcn_kernel`
                                       keeps each layer's past inputs (``engine="keras"``: a buffer of the
                                       last ``receptive_field - 1`` input samples, the network re-run over
                                       ``[buffer, block]``)
:class:`WindowedProcessor` ``windowed`` the thesis's networks: a buffer of the last ``window - 1``
                                       samples (zeros at the start); each output sample is one forward
                                       pass over its own window, as the thesis measured (section 4.1.1);
                                       the windows of a block go through the network in batches
:class:`GrayboxProcessor` ``graybox``  the traditional emulator: its recursive filters' states, in the
                                       compiled kernel of :mod:`fxlab.runtime.graybox_kernel`
========================= ============ ==================================================================

:data:`PROCESSORS` maps a model's name (``"windowed"`` for the thesis's family) to its class. An odd
network runs as two of these (:class:`fxlab.runtime.streaming.OddProcessor`).
"""

from __future__ import annotations

import os

import numpy as np

from fxlab import models as fx_models
from fxlab.audio import STUDY_SR
from fxlab.errors import EngineUnavailableError
from fxlab.models import graybox, tcn
from fxlab.runtime import graybox_kernel, tcn_kernel
from fxlab.runtime.engines import ENGINE_NAMES, make_engine
from fxlab.runtime.processor import Processor

__all__ = ["PROCESSORS", "WINDOW_BATCH", "ConvProcessor", "GrayboxProcessor", "RecurrentProcessor",
           "WindowedProcessor"]

#: Windows per forward call of a windowed network (speed and memory only, not the result). Measured
#: on a 2-core CPU (``python -m fxlab.bench windowed``): 1024 runs the reduced LSTM 2.1x and the GRU
#: 1.7x faster than 256 (1,394 and 2,003 windows/s); larger batches gain little more. A GPU wants
#: far more per call: set ``FXLAB_WINDOW_BATCH`` (read at import; ``scripts/thesis_on_gpu.sh`` sets
#: 2048).
WINDOW_BATCH = int(os.environ.get("FXLAB_WINDOW_BATCH", "1024"))


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


#: The processor class of each model name (the thesis's networks: ``"windowed"``).
PROCESSORS = {"windowed": WindowedProcessor, "lstm": RecurrentProcessor,
              "gru": RecurrentProcessor, "tcn": ConvProcessor, "graybox": GrayboxProcessor}


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
