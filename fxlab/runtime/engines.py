"""Engines: the ways to run a trained sample-level recurrent network (LSTM/GRU) block by block.

An :class:`Engine` holds a recurrent state and turns a block of samples into the same number of
output samples: ``engine.process(block) -> out``, ``engine.reset()``. Every engine computes the same
function as the Keras model (checked within 1e-5 by the tests); they differ in speed:

=========== ======================================================================================
name        what runs
=========== ======================================================================================
numba       the default: a compiled per-sample kernel (numba, float32, ``fastmath``, unchecked
            division so the activations vectorise), the trained weights packed once, the gates of
            each layer fused into one matrix ``[x; h] @ W``, no allocation per sample, the whole
            block inside one ``njit`` call. Fastest at every block size from 1 to 1024 samples on
            the study's CPU (LSTM-32, one core, 64-sample blocks: RTF ~0.03 against ~0.3 for XLA,
            ~0.2 TFLite, ~2-3 tf.function and Keras); only at 4096-sample blocks (93 ms, far
            beyond a live latency) does XLA overtake it. ``latency.json`` records it per run.
xla         a stateful copy of the network (``return_state=True``) in ``tf.function(jit_compile=True)``;
            XLA compiles once per block size (the first block of each size is slow).
tf_function the same graph in ``tf.function`` without XLA.
keras       the same stateful Keras model through Keras's own inference call,
            ``model.predict_on_batch([x, *states])`` (an eager ``model(...)`` call is ~50x slower).
tflite      the same graph frozen and converted with ``tf.lite.TFLiteConverter`` (TFLite/LiteRT),
            run by its interpreter with one thread. The residual ``Add`` is done on tensors reshaped
            to ``[T]``: the converter mishandles an ``Add`` of two ``[1, T, 1]`` tensors.
=========== ======================================================================================

Knob-conditioned networks (``knobs=K`` in :mod:`fxlab.models.recurrent`) run on every engine:
``engine.process(block, knobs)`` takes the ``K`` normalised knob values of every sample of the
block (``[n, K]``, or ``[K]`` held over the block); the numba engine runs them through the
``*_kernel_k`` kernels, the Keras-graph engines feed ``[1, n, 1 + K]`` to the stateful twin.
Unconditioned networks run exactly as before (``knobs`` left out).

Unavailable engines (no TensorFlow backend, a converter failure, activations the kernel does not
implement) raise :class:`~fxlab.errors.EngineUnavailableError` with their reason, never silently skipped.
The TensorFlow-based engines need Keras's TensorFlow backend; under ``KERAS_BACKEND=jax`` only
``numba`` (and ``keras``) are available.

Functions and classes
---------------------
- :data:`ENGINE_NAMES`, :data:`DEFAULT_ORDER`
- :func:`make_engine`         an :class:`Engine` by name (``"auto"`` = fastest available)
- :func:`default_engine`      the name ``"auto"`` resolves to for a model
- :func:`tflite_flatbuffer`   the TFLite model the ``tflite`` engine runs (and the exporter writes)

The weights come from the model's own module (:func:`fxlab.models.recurrent.rnn_spec`), and the
Keras-graph engines run its stateful twin (:func:`fxlab.models.recurrent.stateful_twin`). Callers
that want a model run, whatever its kind, use :func:`fxlab.runtime.make_processor` or
:func:`fxlab.runtime.render`, which pick an engine from here for recurrent networks.
"""

from __future__ import annotations

import numpy as np

from fxlab.errors import EngineUnavailableError, ParameterError, problem, unknown_name
from fxlab.models.recurrent import RnnSpec, rnn_spec, stateful_twin
from fxlab.runtime import kernels

__all__ = [
    "DEFAULT_ORDER",
    "ENGINE_NAMES",
    "Engine",
    "EngineUnavailableError",
    "as_block",
    "as_knob_block",
    "default_engine",
    "make_engine",
    "tflite_flatbuffer",
]

#: Every engine, fastest first at live block sizes (LSTM-32 at 64-sample blocks on one core of the
#: study's busy 2-core CPU: numba RTF ~0.03, tflite ~0.2, xla ~0.3, tf_function ~2.5, keras ~2.5).
ENGINE_NAMES = ("numba", "tflite", "xla", "tf_function", "keras")
#: ``"auto"`` picks the first available engine of this order.
DEFAULT_ORDER = ENGINE_NAMES


# --------------------------------------------------------------------------------------------
# engines


def as_block(block) -> np.ndarray:
    """``block`` as a contiguous float32 mono array ``(n,)``; the one check of a block's shape.

    Raises
    ------
    ParameterError
        For anything but one channel (e.g. a stereo ``(n, 2)`` block).
    """
    x = np.ascontiguousarray(block, dtype=np.float32)
    if x.ndim != 1:
        raise ParameterError(problem(
            "block", found=f"shape {x.shape}", expected="a mono block of shape (n,)",
            fix="pass one channel, e.g. block[:, 0]",
        ))
    return x


def as_knob_block(knobs, n: int, k: int) -> np.ndarray | None:
    """The knob values of a block of ``n`` samples as a C-contiguous float32 ``[n, k]`` array.

    Parameters
    ----------
    knobs : None or array_like [shape=(n, k) or (k,)], values normalised (nominally in [0, 1])
        Per-sample values, or one value per knob held over the block.
    n : int >= 0
        Samples in the block.
    k : int >= 0
        Knob values the network reads per sample (0: unconditioned, ``knobs`` must be None).

    Returns
    -------
    None (``k == 0``) or np.ndarray [shape=(n, k), float32]

    Raises
    ------
    ParameterError
        Knobs for an unconditioned network, none for a conditioned one, a wrong shape, NaN.
    """
    if k == 0:
        if knobs is not None:
            raise ParameterError(problem(
                "knobs", found="knob values for a network without knob inputs",
                expected="knobs=None", fix="leave knobs out (the model was built with knobs=0)"))
        return None
    if knobs is None:
        raise ParameterError(problem(
            "knobs", found="no knob values", expected=f"{k} normalised knob values per sample",
            fix=f"pass knobs= an array of shape (n, {k}) or ({k},) with values in [0, 1]"))
    a = np.asarray(knobs, dtype=np.float32)
    if a.shape == (k,):
        a = np.broadcast_to(a, (n, k))
    if a.shape != (n, k) or not np.all(np.isfinite(a)):
        raise ParameterError(problem(
            "knobs", found=f"shape {a.shape}" + ("" if np.all(np.isfinite(a)) else " with NaN/inf"),
            expected=f"finite values of shape ({n}, {k}) or ({k},)",
            fix="pass one row of normalised knob values per sample of the block"))
    return np.ascontiguousarray(a)


class Engine:
    """A recurrent network running block by block with its state carried between calls.

    Subclasses implement ``_run(x, knobs) -> y`` on a float32 block (``knobs``: None or the
    block's ``[n, K]`` float32 knob values) and ``reset()``.
    """

    name = "engine"

    def __init__(self, spec: RnnSpec):
        self.spec = spec

    def reset(self) -> None:
        """Zero the state (call between files)."""
        raise NotImplementedError

    def process(self, x: np.ndarray, knobs=None) -> np.ndarray:
        """Process one block.

        Parameters
        ----------
        x : np.ndarray [shape=(n,), float32]
            The next ``n >= 0`` input samples.
        knobs : None or np.ndarray [shape=(n, K) or (K,)]
            The normalised knob values of these samples (conditioned networks only; see
            :func:`as_knob_block`).

        Returns
        -------
        y : np.ndarray [shape=(n,), float32]
        """
        x = as_block(x)
        kn = as_knob_block(knobs, x.size, self.spec.knobs)
        return self._run(x, kn) if x.size else x

    def _run(self, x: np.ndarray, knobs: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def _input(self, x: np.ndarray, knobs: np.ndarray | None) -> np.ndarray:
        """The network's input ``[1, n, 1 + K]`` for a block."""
        if knobs is None:
            return x.reshape(1, -1, 1)
        return np.concatenate([x[:, None], knobs], axis=1)[None]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.spec.cell}{list(self.spec.units)}>"


_SUPPORTED_ACTIVATIONS = {"activation": "tanh", "recurrent_activation": "sigmoid"}


class NumbaEngine(Engine):
    """The compiled per-sample kernel (see the module docstring)."""

    name = "numba"

    def __init__(self, spec: RnnSpec):
        super().__init__(spec)
        for cfg in spec.layer_configs:
            for key, want in _SUPPORTED_ACTIVATIONS.items():
                got = cfg.get(key)
                got = got if isinstance(got, str) else getattr(got, "__name__", str(got))
                if got != want:
                    raise EngineUnavailableError(problem(
                        f"layer {cfg.get('name')!r}", found=f"{key}={got!r}",
                        expected=f"{key}={want!r} (what the numba kernel implements)",
                        fix="use engine='xla' or 'keras'",
                    ))
        units = spec.units
        n_in = [int(spec.kernels[0].shape[0])] + list(units[:-1])  # 1 + K knobs, then units
        self._head_w = np.ascontiguousarray(spec.head_kernel, np.float32)
        self._head_b = np.float32(spec.head_bias)
        self._residual = bool(spec.residual)
        max_u = max(units)
        self._v = np.zeros(max(n_in) + max_u, np.float32)

        def c32(a):
            return np.ascontiguousarray(a, dtype=np.float32)

        # homogeneous tuples of arrays: numba indexes them by layer at run time
        self._hs = tuple(np.zeros(u, np.float32) for u in units)
        if spec.cell == "lstm":
            self._ws = tuple(c32(np.vstack([k, r])) for k, r in zip(spec.kernels, spec.recurrent_kernels, strict=True))
            self._bs = tuple(c32(b) for b in spec.biases)
            self._cs = tuple(np.zeros(u, np.float32) for u in units)
            self._z = np.zeros(4 * max_u, np.float32)
        elif spec.cell == "gru":
            self._wxs = tuple(c32(k) for k in spec.kernels)
            self._whs = tuple(c32(r) for r in spec.recurrent_kernels)
            b2 = [np.asarray(b, np.float32).reshape(2, -1) for b in spec.biases]
            self._bxs = tuple(c32(b[0]) for b in b2)
            self._bhs = tuple(c32(b[1]) for b in b2)
            self._zx = np.zeros(3 * max_u, np.float32)
            self._zh = np.zeros(3 * max_u, np.float32)
        else:  # pragma: no cover - rnn_spec only makes lstm/gru
            raise EngineUnavailableError(f"unknown cell {spec.cell!r}")
        self.reset()
        # compile (or load from cache) now, not on the first block
        self._run(np.zeros(1, np.float32), as_knob_block(np.zeros(spec.knobs) if spec.knobs else None,
                                                         1, spec.knobs))
        self.reset()

    def reset(self) -> None:
        for h in self._hs:
            h[:] = 0.0
        for c in getattr(self, "_cs", ()):
            c[:] = 0.0

    def _run(self, x: np.ndarray, knobs: np.ndarray | None = None) -> np.ndarray:
        if knobs is not None:
            return self._run_k(x, knobs)
        y = np.empty_like(x)
        one = len(self._hs) == 1
        if self.spec.cell == "lstm":
            if one:
                kernels.lstm_kernel_1(x, y, self._ws[0], self._bs[0], self._hs[0], self._cs[0], self._v,
                               self._z, self._head_w, self._head_b, self._residual)
            else:
                kernels.lstm_kernel(x, y, self._ws, self._bs, self._hs, self._cs, self._v, self._z,
                             self._head_w, self._head_b, self._residual)
        elif one:
            kernels.gru_kernel_1(x, y, self._wxs[0], self._whs[0], self._bxs[0], self._bhs[0], self._hs[0],
                          self._v, self._zx, self._zh, self._head_w, self._head_b, self._residual)
        else:
            kernels.gru_kernel(x, y, self._wxs, self._whs, self._bxs, self._bhs, self._hs, self._v,
                        self._zx, self._zh, self._head_w, self._head_b, self._residual)
        return y

    def _run_k(self, x: np.ndarray, kn: np.ndarray) -> np.ndarray:
        """A knob-conditioned block: ``kn [n, K]`` float32 beside ``x``."""
        y = np.empty_like(x)
        one = len(self._hs) == 1
        if self.spec.cell == "lstm":
            if one:
                kernels.lstm_kernel_k_1(x, kn, y, self._ws[0], self._bs[0], self._hs[0], self._cs[0],
                                        self._v, self._z, self._head_w, self._head_b, self._residual)
            else:
                kernels.lstm_kernel_k(x, kn, y, self._ws, self._bs, self._hs, self._cs, self._v,
                                      self._z, self._head_w, self._head_b, self._residual)
        elif one:
            kernels.gru_kernel_k_1(x, kn, y, self._wxs[0], self._whs[0], self._bxs[0], self._bhs[0],
                                   self._hs[0], self._v, self._zx, self._zh, self._head_w,
                                   self._head_b, self._residual)
        else:
            kernels.gru_kernel_k(x, kn, y, self._wxs, self._whs, self._bxs, self._bhs, self._hs,
                                 self._v, self._zx, self._zh, self._head_w, self._head_b,
                                 self._residual)
        return y


# ---- TensorFlow / Keras engines ------------------------------------------------------------


def _require_tf(engine: str):
    import keras

    if keras.backend.backend() != "tensorflow":
        raise EngineUnavailableError(problem(
            f"engine {engine!r}", found=f"Keras backend {keras.backend.backend()!r}",
            expected="the 'tensorflow' backend", fix="use engine='numba' or KERAS_BACKEND=tensorflow",
        ))
    import tensorflow as tf

    return tf


class _KerasStateEngine(Engine):
    """Common state handling of the Keras-graph engines (state kept as numpy arrays)."""

    def __init__(self, spec: RnnSpec):
        super().__init__(spec)
        n_states = 2 if spec.cell == "lstm" else 1
        self._shapes = [(1, u) for u in spec.units for _ in range(n_states)]
        self.reset()

    def reset(self) -> None:
        self._states = [np.zeros(s, np.float32) for s in self._shapes]

    def _finish(self, x, head, states):
        self._states = [np.asarray(s, np.float32) for s in states]
        y = np.asarray(head, np.float32).reshape(-1)
        return y + x if self.spec.residual else y


class KerasEngine(_KerasStateEngine):
    """The stateful Keras model through ``predict_on_batch`` (Keras's inference call)."""

    name = "keras"

    def __init__(self, spec: RnnSpec):
        super().__init__(spec)
        self._model = stateful_twin(spec)

    def _run(self, x, knobs=None):
        out = self._model.predict_on_batch([self._input(x, knobs), *self._states])
        return self._finish(x, out[0], out[1:])


class TfFunctionEngine(_KerasStateEngine):
    """The stateful Keras model inside ``tf.function`` (``jit_compile`` for the XLA engine)."""

    name = "tf_function"
    jit = False

    def __init__(self, spec: RnnSpec):
        super().__init__(spec)
        tf = _require_tf(self.name)
        self._model = stateful_twin(spec)
        sig = [tf.TensorSpec([1, None, 1 + spec.knobs], tf.float32)] + [
            tf.TensorSpec(s, tf.float32) for s in self._shapes]
        model = self._model

        def step(x, *states):
            return model([x, *states], training=False)

        self._fn = tf.function(step, input_signature=sig, jit_compile=self.jit, reduce_retracing=True)

    def _run(self, x, knobs=None):
        out = self._fn(self._input(x, knobs), *self._states)
        return self._finish(x, out[0].numpy(), [s.numpy() for s in out[1:]])


class XlaEngine(TfFunctionEngine):
    """``tf.function(jit_compile=True)``: XLA compiles one program per block size."""

    name = "xla"
    jit = True


class TfliteEngine(_KerasStateEngine):
    """The stateful graph, frozen and converted to TFLite, run with one interpreter thread.

    The time axis is dynamic: the interpreter's input is resized when the block size changes
    (re-allocating its tensors once per change of size).
    """

    name = "tflite"

    def __init__(self, spec: RnnSpec):
        super().__init__(spec)
        tf = _require_tf(self.name)
        blob = tflite_flatbuffer(spec)
        try:
            self._it = tf.lite.Interpreter(model_content=blob, num_threads=1)
        except Exception as exc:  # the interpreter's own errors are many kinds
            raise EngineUnavailableError(problem(
                "TFLite interpreter", found=f"{type(exc).__name__}: {str(exc)[:300]}",
                expected="a loadable model", fix="use another engine",
            )) from exc
        ins = {d["name"]: d for d in self._it.get_input_details()}
        self._x_index = ins["x"]["index"]
        self._s_index = [ins[f"s{i}"]["index"] for i in range(len(self._shapes))]
        outs = self._it.get_output_details()
        self._y_index = outs[0]["index"]
        self._out_index = [d["index"] for d in outs]
        self._size = None
        self._it.allocate_tensors()
        self._n_out = len(outs)

    def _run(self, x, knobs=None):
        n = x.size
        if n != self._size:
            self._it.resize_tensor_input(self._x_index, [1, n, 1 + self.spec.knobs])
            self._it.allocate_tensors()
            self._size = n
            # identify outputs by shape once per size: y is (n,), states are (1, u)
            outs = self._it.get_output_details()
            ys = [d["index"] for d in outs if len(d["shape"]) == 1]
            self._y_index = ys[0]
            self._state_out = self._match_states(outs)
        it = self._it
        it.set_tensor(self._x_index, self._input(x, knobs))
        for idx, s in zip(self._s_index, self._states, strict=True):
            it.set_tensor(idx, s)
        it.invoke()
        y = it.get_tensor(self._y_index).copy()
        self._states = [it.get_tensor(i).copy() for i in self._state_out]
        return y

    def _match_states(self, outs):
        # Output i+1 of the traced function is state i; the converter names them Identity_<i+1>.
        by_name = {d["name"]: d["index"] for d in outs}
        names = [f"Identity_{i + 1}" for i in range(len(self._shapes))]
        if all(n in by_name for n in names):
            return [by_name[n] for n in names]
        return [d["index"] for d in outs if len(d["shape"]) == 2]


def tflite_flatbuffer(spec: RnnSpec) -> bytes:
    """The stateful twin of ``spec`` frozen and converted to a TFLite flatbuffer.

    Signature: inputs ``x [1, T, 1 + K]`` (T dynamic; the audio, then K knob values) and the states ``s0, s1, ... [1, units]``
    (LSTM layers ``h, c``; GRU layers ``h``); outputs ``y [T]`` (the residual input added when the
    network has one), then the new states in the same order. :class:`TfliteEngine` runs it;
    :mod:`fxlab.export.tflite` writes it to a file.

    Raises
    ------
    EngineUnavailableError
        Without Keras's TensorFlow backend, or when the converter fails.
    """
    tf = _require_tf("tflite")
    import logging
    import warnings

    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    model = stateful_twin(spec)
    n_states = 2 if spec.cell == "lstm" else 1
    shapes = [(1, u) for u in spec.units for _ in range(n_states)]
    sig = [tf.TensorSpec([1, None, 1 + spec.knobs], tf.float32, name="x")] + [
        tf.TensorSpec(s, tf.float32, name=f"s{i}") for i, s in enumerate(shapes)
    ]

    def step(x, *states):
        out = model([x, *states], training=False)
        # reshape before the add: the converter mishandles Add of two [1, T, 1] tensors
        y = tf.reshape(out[0], [-1])
        if spec.residual:  # the audio channel only (knob values follow it)
            y = y + tf.reshape(x if not spec.knobs else x[..., :1], [-1])
        return (y, *out[1:])

    fn = tf.function(step, input_signature=sig)
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
    logging.getLogger("absl").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return tf.lite.TFLiteConverter.from_concrete_functions([frozen]).convert()
        except Exception as exc:  # the converter's own errors are many kinds
            raise EngineUnavailableError(problem(
                "TFLite conversion", found=f"{type(exc).__name__}: {str(exc)[:300]}",
                expected="a converted model", fix="use another engine",
            )) from exc


_ENGINE_CLASSES = {
    "numba": NumbaEngine,
    "xla": XlaEngine,
    "tflite": TfliteEngine,
    "tf_function": TfFunctionEngine,
    "keras": KerasEngine,
}


def _as_spec(model) -> RnnSpec:
    return model if isinstance(model, RnnSpec) else rnn_spec(model)


def make_engine(model, name: str = "auto") -> Engine:
    """An engine running ``model`` (a sample-level LSTM/GRU network) block by block.

    Parameters
    ----------
    model : TrainedModel, keras.Model or RnnSpec
    name : str
        One of :data:`ENGINE_NAMES`, or ``"auto"`` for the fastest available (numba).

    Raises
    ------
    UnknownNameError
        ``name`` is not an engine.
    EngineUnavailableError
        The engine cannot run this model (the message says why).
    """
    if name == "auto":
        spec = _as_spec(model)
        reasons = []
        for candidate in DEFAULT_ORDER:
            try:
                return _ENGINE_CLASSES[candidate](spec)
            except EngineUnavailableError as exc:
                reasons.append(f"{candidate}: {exc}")
        raise EngineUnavailableError("no engine can run this model: " + " | ".join(reasons))
    if name not in _ENGINE_CLASSES:
        raise unknown_name("engine", name, list(ENGINE_NAMES) + ["auto"])
    spec = _as_spec(model)
    return _ENGINE_CLASSES[name](spec)


def default_engine(model) -> str:
    """The engine ``"auto"`` means for ``model``: the first of :data:`DEFAULT_ORDER` that runs it."""
    return make_engine(model, "auto").name
