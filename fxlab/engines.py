"""Engines: ways to run a trained sample-level recurrent network from Python, exactly.

Offline rendering of a whole signal (start here)
------------------------------------------------
``render(model, x)`` is the fast exact way to run any fxlab model over a whole signal (e.g. a
500 000-sample validation file): ``y = engines.render(trained, x)``. ``model`` is a
``fxlab.training.TrainedModel`` or a Keras model; ``x`` is float32 mono, shape ``(n,)``; ``y`` has the
same shape. For the sample-level LSTM/GRU networks it runs the numba kernel over the whole signal in
one call from a zero state (under a second per 500k samples for an LSTM-32 on one core, instead of
tens of seconds through Keras); the result equals the Keras model's output within 1e-5. For the causal TCN it
is one Keras call; for the thesis's windowed networks it runs every window (zero-padded at the
start, see :func:`windowed_predict`) in batches.

Engines for streaming
---------------------
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

Unavailable engines (no TensorFlow backend, a converter failure, activations the kernel does not
implement) are reported with their reason by :func:`available_engines`, never silently skipped.
The TensorFlow-based engines need Keras's TensorFlow backend; under ``KERAS_BACKEND=jax`` only
``numba`` (and ``keras``) are available.

Functions and classes
---------------------
- :data:`ENGINE_NAMES`, :data:`DEFAULT_ORDER`
- :func:`render`              whole signal, offline, exact and fast
- :func:`make_engine`         an :class:`Engine` by name (``"auto"`` = fastest available)
- :func:`available_engines`   ``{name: None | reason it is unavailable}``
- :func:`default_engine`      the name ``"auto"`` resolves to for a model
- :func:`rnn_spec`            the trained weights of a sample-level recurrent network, checked
- :func:`model_kind`          ``"rnn"``, ``"tcn"`` or ``"windowed"``
- :func:`windowed_predict`    offline output of a windowed (many-to-one) network
- :func:`receptive_field`     samples of input a causal convolutional network sees
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from fxlab.errors import ParameterError, problem, unknown_name

__all__ = [
    "ENGINE_NAMES",
    "DEFAULT_ORDER",
    "Engine",
    "RnnSpec",
    "EngineUnavailableError",
    "render",
    "make_engine",
    "available_engines",
    "default_engine",
    "rnn_spec",
    "model_kind",
    "keras_model",
    "windowed_predict",
    "receptive_field",
]

#: Every engine, fastest first at live block sizes (LSTM-32 at 64-sample blocks on one core of the
#: study's busy 2-core CPU: numba RTF ~0.03, tflite ~0.2, xla ~0.3, tf_function ~2.5, keras ~2.5).
ENGINE_NAMES = ("numba", "tflite", "xla", "tf_function", "keras")
#: ``"auto"`` picks the first available engine of this order.
DEFAULT_ORDER = ENGINE_NAMES


class EngineUnavailableError(ParameterError):
    """An engine cannot run this model (the message says why)."""


# --------------------------------------------------------------------------------------------
# model inspection


def keras_model(model):
    """The Keras model inside ``model`` (a ``TrainedModel`` or a Keras model)."""
    inner = getattr(model, "model", None)
    if inner is not None and hasattr(inner, "layers"):
        return inner
    if hasattr(model, "layers") and hasattr(model, "inputs"):
        return model
    raise ParameterError(problem(
        "model", found=f"an object of type {type(model).__name__}",
        expected="a fxlab.training.TrainedModel or a Keras model",
        fix="load it with fxlab.training.load_trained(run_dir / 'models' / name)",
    ))


def _model_name(model) -> str:
    return str(getattr(model, "name", None) or getattr(keras_model(model), "name", "model"))


def model_kind(model) -> str:
    """What kind of network ``model`` is, for streaming.

    Returns
    -------
    kind : str
        ``"windowed"`` (input ``[B, window, 1]`` with a fixed window, one output sample per window),
        ``"rnn"`` (sample-level with ``LSTM``/``GRU`` layers) or ``"tcn"`` (any other sample-level,
        causal network, e.g. dilated ``Conv1D`` layers with causal padding).
    """
    family = getattr(model, "family", None)
    km = keras_model(model)
    shape = tuple(km.inputs[0].shape)
    if family == "windowed" or (family is None and len(shape) == 3 and shape[1] is not None):
        return "windowed"
    names = {type(layer).__name__ for layer in km.layers}
    if names & {"LSTM", "GRU"}:
        return "rnn"
    return "tcn"


def receptive_field(model) -> int:
    """Samples of input one output of a causal convolutional network depends on.

    Uses ``config["model"]["receptive_field"]`` of a ``TrainedModel`` or ``model.receptive_field`` when the
    model states it; otherwise ``1 + sum((kernel_size - 1) * dilation)`` over every ``Conv1D``
    layer, which is exact for a plain stack and an upper bound (still exact for streaming, only
    slower) for networks with parallel branches.

    Returns
    -------
    receptive_field : int >= 1 [samples]
    """
    config = getattr(model, "config", None)
    if isinstance(config, dict):
        for holder in (config, config.get("model")):
            if isinstance(holder, dict) and isinstance(holder.get("receptive_field"), int):
                return int(holder["receptive_field"])
    if isinstance(getattr(model, "receptive_field", None), int):
        return int(model.receptive_field)
    km = keras_model(model)
    try:  # a model built by fxlab.models knows its own receptive field
        from fxlab import models as fx_models

        rf = fx_models.model_config(km.name, **_tcn_overrides(km))["receptive_field"]
        if isinstance(rf, int):
            return rf
    except Exception:  # not an fxlab-built model: count its convolutions
        pass
    total = 1
    for layer in km.layers:
        if type(layer).__name__ == "Conv1D":
            cfg = layer.get_config()
            k = int(np.atleast_1d(cfg["kernel_size"])[0])
            d = int(np.atleast_1d(cfg["dilation_rate"])[0])
            total += (k - 1) * d
    return total


def _tcn_overrides(km) -> dict:
    """``fxlab.models`` parameters of a TCN built by it (from its layer names ``filter_<i>``)."""
    filters = [layer for layer in km.layers if layer.name.startswith("filter_")]
    dil = [int(np.atleast_1d(layer.get_config()["dilation_rate"])[0]) for layer in filters]
    per_stack = 1 + max(int(np.log2(d)) for d in dil)
    cfg = filters[0].get_config()
    return {"channels": int(cfg["filters"]), "kernel": int(np.atleast_1d(cfg["kernel_size"])[0]),
            "layers": per_stack, "stacks": len(filters) // per_stack}


@dataclass(frozen=True)
class RnnSpec:
    """Trained weights of a sample-level recurrent network, in Keras's layouts.

    Attributes
    ----------
    cell : str
        ``"lstm"`` (gates i, f, c, o) or ``"gru"`` (reset_after=True; gates z, r, h).
    kernels : tuple of np.ndarray [shape=(n_in, G * units)], G = 4 (LSTM) or 3 (GRU)
    recurrent_kernels : tuple of np.ndarray [shape=(units, G * units)]
    biases : tuple of np.ndarray [shape=(G * units,) for LSTM, (2, 3 * units) for GRU]
    head_kernel : np.ndarray [shape=(units_last,)]
    head_bias : float
    residual : bool
        Whether the input is added to the head's output.
    layer_configs : tuple of dict
        The Keras configs of the recurrent layers (to rebuild them with ``return_state``).
    head_config : dict
    """

    cell: str
    kernels: tuple
    recurrent_kernels: tuple
    biases: tuple
    head_kernel: np.ndarray
    head_bias: float
    residual: bool
    layer_configs: tuple
    head_config: dict

    @property
    def units(self) -> tuple[int, ...]:
        """Units of each recurrent layer."""
        return tuple(int(r.shape[0]) for r in self.recurrent_kernels)


def rnn_spec(model) -> RnnSpec:
    """Read and check the weights of a sample-level recurrent network.

    The network must be what ``fxlab.models`` builds: input ``[B, T, 1]`` -> ``LSTM``/``GRU``
    layers named ``rnn_0``, ``rnn_1``, ... (``return_sequences=True``, one cell type) -> ``Dense(1,
    name="head")`` -> optionally plus the input (an ``Add`` layer).

    Raises
    ------
    EngineUnavailableError
        If the graph holds other layers, mixes cell types or runs backwards.
    """
    km = keras_model(model)
    name = _model_name(model)
    rnns = sorted(
        (layer for layer in km.layers if type(layer).__name__ in ("LSTM", "GRU")),
        key=lambda layer: int(layer.name.split("_")[-1]) if layer.name.split("_")[-1].isdigit() else 0,
    )
    heads = [layer for layer in km.layers if layer.name == "head"]
    others = [
        layer for layer in km.layers
        if layer not in rnns and layer not in heads
        and type(layer).__name__ not in ("InputLayer", "Add")
    ]
    if not rnns or len(heads) != 1 or others:
        raise EngineUnavailableError(problem(
            f"model {name!r}",
            found="layers " + ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in km.layers),
            expected="LSTM/GRU layers rnn_0, rnn_1, ... then Dense(1, name='head') plus the input",
            fix="run it with engine='keras' or through fxlab.streaming (Keras calls)",
        ))
    cells = {type(layer).__name__ for layer in rnns}
    if len(cells) != 1:
        raise EngineUnavailableError(problem(
            f"model {name!r}", found=f"mixed cell types {sorted(cells)}",
            expected="one cell type (all LSTM or all GRU)", fix="use engine='keras'",
        ))
    cell = cells.pop().lower()
    kernels, recs, biases, cfgs = [], [], [], []
    for layer in rnns:
        cfg = layer.get_config()
        if cfg.get("go_backwards") or not cfg.get("return_sequences", False):
            raise EngineUnavailableError(problem(
                f"layer {layer.name!r} of {name!r}",
                found=f"go_backwards={cfg.get('go_backwards')}, return_sequences={cfg.get('return_sequences')}",
                expected="a forward layer returning sequences", fix="use engine='keras'",
            ))
        if cell == "gru" and not cfg.get("reset_after", True):
            raise EngineUnavailableError(problem(
                f"layer {layer.name!r} of {name!r}", found="GRU with reset_after=False",
                expected="reset_after=True (Keras's default)", fix="use engine='keras'",
            ))
        w = [np.asarray(v, dtype=np.float32) for v in layer.get_weights()]
        g = 4 if cell == "lstm" else 3
        units = w[1].shape[0]
        bias = w[2] if len(w) > 2 else (
            np.zeros(g * units, np.float32) if cell == "lstm" else np.zeros((2, g * units), np.float32)
        )
        kernels.append(w[0])
        recs.append(w[1])
        biases.append(bias)
        cfgs.append(cfg)
    hw = [np.asarray(v, dtype=np.float32) for v in heads[0].get_weights()]
    head_cfg = heads[0].get_config()
    if hw[0].shape[1] != 1:
        raise EngineUnavailableError(problem(
            f"head of {name!r}", found=f"{hw[0].shape[1]} outputs", expected="Dense(1)",
            fix="use engine='keras'",
        ))
    residual = any(type(layer).__name__ == "Add" for layer in km.layers)
    return RnnSpec(
        cell=cell, kernels=tuple(kernels), recurrent_kernels=tuple(recs), biases=tuple(biases),
        head_kernel=hw[0][:, 0].copy(), head_bias=float(hw[1][0]) if len(hw) > 1 else 0.0,
        residual=residual, layer_configs=tuple(cfgs), head_config=head_cfg,
    )


# --------------------------------------------------------------------------------------------
# engines


class Engine:
    """A recurrent network running block by block with its state carried between calls.

    Subclasses implement ``_run(x) -> y`` on a float32 block and ``reset()``.
    """

    name = "engine"

    def __init__(self, spec: RnnSpec):
        self.spec = spec

    def reset(self) -> None:
        """Zero the state (call between files)."""
        raise NotImplementedError

    def process(self, x: np.ndarray) -> np.ndarray:
        """Process one block.

        Parameters
        ----------
        x : np.ndarray [shape=(n,), float32]
            The next ``n >= 0`` input samples.

        Returns
        -------
        y : np.ndarray [shape=(n,), float32]
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 1:
            raise ParameterError(problem(
                "block", found=f"shape {x.shape}", expected="a mono block of shape (n,)",
                fix="pass one channel, e.g. x[:, 0]",
            ))
        if x.size == 0:
            return np.zeros(0, np.float32)
        return self._run(x)

    def _run(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.spec.cell}{list(self.spec.units)}>"


# ---- numba kernels -------------------------------------------------------------------------
# One njit call runs a whole block. Per layer, the LSTM's input and recurrent kernels are stacked
# into one (n_in + units, 4*units) matrix, so all gates come from one pass over [x; h] whose inner
# loop runs over contiguous gate columns and vectorises (float32, fastmath). Scratch vectors are
# allocated once per engine, never per sample. tanh is Eigen's float32 rational approximation
# (the one TensorFlow's CPU kernels use; |error| < 3e-7), sigmoid(x) = 0.5 * tanh(x / 2) + 0.5.
# float32 rather than float64: twice the SIMD width, and Keras itself computes in float32.

_CLAMP = np.float32(7.90531110763549805)


@njit(inline="always", fastmath=True, error_model="numpy")
def _tanh(x):
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = np.float32(-2.76076847742355e-16)
    p = p * x2 + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = q * x2 + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return p * x / q


@njit(inline="always", fastmath=True, error_model="numpy")
def _lstm_cell(w, b, h, c, v, z, k_in):
    """One LSTM step: v[:k_in] is the input; h, c updated in place; v[:u] = new h."""
    half = np.float32(0.5)
    g = w.shape[1]
    u = g // 4
    for k in range(u):
        v[k_in + k] = h[k]
    for j in range(g):
        z[j] = b[j]
    for k in range(w.shape[0]):  # = k_in + u
        vk = v[k]
        for j in range(g):
            z[j] += w[k, j] * vk
    for j in range(2 * u):
        z[j] = half * _tanh(half * z[j]) + half
    for j in range(2 * u, 3 * u):
        z[j] = _tanh(z[j])
    for j in range(3 * u, g):
        z[j] = half * _tanh(half * z[j]) + half
    for k in range(u):
        c[k] = z[u + k] * c[k] + z[k] * z[2 * u + k]
    for k in range(u):
        h[k] = z[3 * u + k] * _tanh(c[k])
    for k in range(u):
        v[k] = h[k]
    return u


@njit(inline="always", fastmath=True, error_model="numpy")
def _gru_cell(wx, wh, bx, bh, h, v, zx, zh, k_in):
    """One GRU step (reset_after): v[:k_in] is the input; h updated in place; v[:u] = new h."""
    half = np.float32(0.5)
    one = np.float32(1.0)
    g = wx.shape[1]
    u = g // 3
    for j in range(g):
        zx[j] = bx[j]
        zh[j] = bh[j]
    for k in range(wx.shape[0]):  # = k_in
        vk = v[k]
        for j in range(g):
            zx[j] += wx[k, j] * vk
    for k in range(wh.shape[0]):  # = u
        hk = h[k]
        for j in range(g):
            zh[j] += wh[k, j] * hk
    for j in range(2 * u):
        zx[j] = half * _tanh(half * (zx[j] + zh[j])) + half
    for k in range(u):
        zh[k] = _tanh(zx[2 * u + k] + zx[u + k] * zh[2 * u + k])
    for k in range(u):
        h[k] = zx[k] * h[k] + (one - zx[k]) * zh[k]
    for k in range(u):
        v[k] = h[k]
    return u


@njit(inline="always", fastmath=True, error_model="numpy")
def _head(v, u, head_w, head_b):
    out = head_b
    for k in range(u):
        out += head_w[k] * v[k]
    return out


@njit(fastmath=True, cache=True, error_model="numpy")
def _lstm_kernel(x, y, ws, bs, hs, cs, v, z, head_w, head_b, residual):
    # ws[l]: fused (n_in + u, 4u) C-contiguous; bs[l]: (4u,); hs[l], cs[l]: (u,) state
    n_layers = len(ws)
    for t in range(x.shape[0]):
        v[0] = x[t]
        k_in = 1
        for layer in range(n_layers):
            k_in = _lstm_cell(ws[layer], bs[layer], hs[layer], cs[layer], v, z, k_in)
        y[t] = _head(v, k_in, head_w, head_b) + (x[t] if residual else np.float32(0.0))


@njit(fastmath=True, cache=True, error_model="numpy")
def _lstm_kernel_1(x, y, w, b, h, c, v, z, head_w, head_b, residual):
    # the same for one layer, arrays passed directly (about 1.5x faster than through a tuple)
    for t in range(x.shape[0]):
        v[0] = x[t]
        u = _lstm_cell(w, b, h, c, v, z, 1)
        y[t] = _head(v, u, head_w, head_b) + (x[t] if residual else np.float32(0.0))


@njit(fastmath=True, cache=True, error_model="numpy")
def _gru_kernel(x, y, wxs, whs, bxs, bhs, hs, v, zx, zh, head_w, head_b, residual):
    # wxs[l]: (n_in, 3u); whs[l]: (u, 3u); bxs[l], bhs[l]: (3u,) input / recurrent biases
    n_layers = len(wxs)
    for t in range(x.shape[0]):
        v[0] = x[t]
        k_in = 1
        for layer in range(n_layers):
            k_in = _gru_cell(wxs[layer], whs[layer], bxs[layer], bhs[layer], hs[layer], v, zx, zh, k_in)
        y[t] = _head(v, k_in, head_w, head_b) + (x[t] if residual else np.float32(0.0))


@njit(fastmath=True, cache=True, error_model="numpy")
def _gru_kernel_1(x, y, wx, wh, bx, bh, h, v, zx, zh, head_w, head_b, residual):
    for t in range(x.shape[0]):
        v[0] = x[t]
        u = _gru_cell(wx, wh, bx, bh, h, v, zx, zh, 1)
        y[t] = _head(v, u, head_w, head_b) + (x[t] if residual else np.float32(0.0))


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
        n_in = [int(spec.kernels[0].shape[0])] + list(units[:-1])
        if n_in[0] != 1:
            raise EngineUnavailableError(problem(
                "model input", found=f"{n_in[0]} features", expected="1 (mono samples)",
                fix="use engine='keras'",
            ))
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
        self._run(np.zeros(1, np.float32))  # compile (or load from cache) now, not on the first block
        self.reset()

    def reset(self) -> None:
        for h in self._hs:
            h[:] = 0.0
        for c in getattr(self, "_cs", ()):
            c[:] = 0.0

    def _run(self, x: np.ndarray) -> np.ndarray:
        y = np.empty_like(x)
        one = len(self._hs) == 1
        if self.spec.cell == "lstm":
            if one:
                _lstm_kernel_1(x, y, self._ws[0], self._bs[0], self._hs[0], self._cs[0], self._v,
                               self._z, self._head_w, self._head_b, self._residual)
            else:
                _lstm_kernel(x, y, self._ws, self._bs, self._hs, self._cs, self._v, self._z,
                             self._head_w, self._head_b, self._residual)
        elif one:
            _gru_kernel_1(x, y, self._wxs[0], self._whs[0], self._bxs[0], self._bhs[0], self._hs[0],
                          self._v, self._zx, self._zh, self._head_w, self._head_b, self._residual)
        else:
            _gru_kernel(x, y, self._wxs, self._whs, self._bxs, self._bhs, self._hs, self._v,
                        self._zx, self._zh, self._head_w, self._head_b, self._residual)
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


def _stateful_model(spec: RnnSpec):
    """A Keras model ``[x [1,T,1], *states [1,u]] -> [head [1,T,1], *new states]`` (no residual)."""
    import keras

    x_in = keras.Input(shape=(None, 1), batch_size=1, name="x")
    state_inputs, state_outputs = [], []
    seq = x_in
    layers = []
    for i, cfg in enumerate(spec.layer_configs):
        cfg = dict(cfg, return_sequences=True, return_state=True, stateful=False, name=f"rnn_{i}")
        cls = keras.layers.LSTM if spec.cell == "lstm" else keras.layers.GRU
        layer = cls.from_config(cfg)
        u = spec.units[i]
        n_states = 2 if spec.cell == "lstm" else 1
        ins = [keras.Input(shape=(u,), batch_size=1, name=f"s{i}_{j}") for j in range(n_states)]
        out = layer(seq, initial_state=ins if n_states == 2 else ins[0])
        seq, new = out[0], list(out[1:])
        state_inputs += ins
        state_outputs += new
        layers.append(layer)
    head = keras.layers.Dense.from_config(dict(spec.head_config, name="head"))
    y = head(seq)
    model = keras.Model([x_in, *state_inputs], [y, *state_outputs], name="stateful")
    for i, layer in enumerate(layers):
        layer.set_weights([spec.kernels[i], spec.recurrent_kernels[i], spec.biases[i]][: len(layer.weights)])
    head.set_weights([spec.head_kernel[:, None], np.asarray([spec.head_bias], np.float32)][: len(head.weights)])
    return model


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
        self._model = _stateful_model(spec)

    def _run(self, x):
        out = self._model.predict_on_batch([x.reshape(1, -1, 1), *self._states])
        return self._finish(x, out[0], out[1:])


class TfFunctionEngine(_KerasStateEngine):
    """The stateful Keras model inside ``tf.function`` (``jit_compile`` for the XLA engine)."""

    name = "tf_function"
    jit = False

    def __init__(self, spec: RnnSpec):
        super().__init__(spec)
        tf = _require_tf(self.name)
        self._model = _stateful_model(spec)
        sig = [tf.TensorSpec([1, None, 1], tf.float32)] + [tf.TensorSpec(s, tf.float32) for s in self._shapes]
        model = self._model

        def step(x, *states):
            return model([x, *states], training=False)

        self._fn = tf.function(step, input_signature=sig, jit_compile=self.jit, reduce_retracing=True)

    def _run(self, x):
        out = self._fn(x.reshape(1, -1, 1), *self._states)
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
        import logging
        import warnings

        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2,
        )

        model = _stateful_model(spec)
        sig = [tf.TensorSpec([1, None, 1], tf.float32, name="x")] + [
            tf.TensorSpec(s, tf.float32, name=f"s{i}") for i, s in enumerate(self._shapes)
        ]

        def step(x, *states):
            out = model([x, *states], training=False)
            # reshape before the add: the converter mishandles Add of two [1, T, 1] tensors
            y = tf.reshape(out[0], [-1])
            if spec.residual:
                y = y + tf.reshape(x, [-1])
            return (y, *out[1:])

        fn = tf.function(step, input_signature=sig)
        frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
        logging.getLogger("absl").setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                blob = tf.lite.TFLiteConverter.from_concrete_functions([frozen]).convert()
                self._it = tf.lite.Interpreter(model_content=blob, num_threads=1)
            except Exception as exc:  # the converter's own errors are many kinds
                raise EngineUnavailableError(problem(
                    "TFLite conversion", found=f"{type(exc).__name__}: {str(exc)[:300]}",
                    expected="a converted model", fix="use another engine",
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

    def _run(self, x):
        n = x.size
        if n != self._size:
            self._it.resize_tensor_input(self._x_index, [1, n, 1])
            self._it.allocate_tensors()
            self._size = n
            # identify outputs by shape once per size: y is (n,), states are (1, u)
            outs = self._it.get_output_details()
            ys = [d["index"] for d in outs if len(d["shape"]) == 1]
            self._y_index = ys[0]
            self._state_out = self._match_states(outs)
        it = self._it
        it.set_tensor(self._x_index, x.reshape(1, n, 1))
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


def available_engines(model) -> dict[str, str | None]:
    """Which engines can run ``model``: ``{name: None}`` if it can, else ``{name: reason}``.

    Builds each engine once (TFLite conversion and numba compilation take a second or two).
    """
    try:
        spec = _as_spec(model)
    except EngineUnavailableError as exc:
        return dict.fromkeys(ENGINE_NAMES, str(exc))
    out: dict[str, str | None] = {}
    for name in ENGINE_NAMES:
        try:
            _ENGINE_CLASSES[name](spec)
            out[name] = None
        except EngineUnavailableError as exc:
            out[name] = str(exc)
    return out


def default_engine(model) -> str:
    """The engine ``"auto"`` means for ``model``: the first of :data:`DEFAULT_ORDER` that runs it."""
    return make_engine(model, "auto").name


# --------------------------------------------------------------------------------------------
# offline


def windowed_predict(model, x: np.ndarray, *, window: int | None = None, batch_size: int = 256) -> np.ndarray:
    """Offline output of a windowed (many-to-one) network over a whole signal.

    Output sample ``n`` is the network's output for the window ``x[n - window + 1 : n + 1]``; the
    signal is zero-padded with ``window - 1`` samples in front, so the output has the input's
    length and sample ``n`` depends on no future input (causal, as a plugin would run it).

    Parameters
    ----------
    model : TrainedModel or keras.Model
        Input ``[B, window, 1]``, output ``B`` values (any shape with ``B`` elements per batch).
    x : np.ndarray [shape=(n,), float32]
    window : int, optional
        Defaults to the model's input length.
    batch_size : int > 0
        Windows per forward call (speed only).

    Returns
    -------
    y : np.ndarray [shape=(n,), float32]
    """
    km = keras_model(model)
    window = int(window or km.inputs[0].shape[1])
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    padded = np.concatenate([np.zeros(window - 1, np.float32), x])
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)
    fn = _forward_fn(km, window)
    out = np.empty(x.size, np.float32)
    for i in range(0, x.size, batch_size):
        out[i : i + batch_size] = fn(frames[i : i + batch_size])
    return out


_FORWARD_CACHE: dict[int, object] = {}


def _forward_fn(km, window: int | None):
    """``frames [B, W] -> np.ndarray (B,)`` (windowed) or ``x [T] -> y [T]`` (sample-level)."""
    key = id(km)
    cached = _FORWARD_CACHE.get(key)
    if cached is not None and cached[0] is km:
        return cached[1]
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if window is not None:
            sig = [tf.TensorSpec([None, window, 1], tf.float32)]
        else:
            sig = [tf.TensorSpec([1, None, 1], tf.float32)]
        call = tf.function(lambda a: km(a, training=False), input_signature=sig, reduce_retracing=True)
    else:
        def call(a):
            return km(a, training=False)

    if window is not None:
        def fn(frames):
            frames = np.ascontiguousarray(frames, np.float32)
            return np.asarray(call(frames[..., None])).reshape(frames.shape[0], -1)[:, -1]
    else:
        def fn(x):
            return np.asarray(call(np.ascontiguousarray(x, np.float32).reshape(1, -1, 1))).reshape(-1)

    _FORWARD_CACHE[key] = (km, fn)
    return fn


def render(model, x: np.ndarray, *, engine: str = "auto") -> np.ndarray:
    """Run ``model`` over a whole signal, offline, from a zero state: the fast exact path.

    Parameters
    ----------
    model : TrainedModel or keras.Model
        Any fxlab model (sample-level LSTM/GRU, TCN or windowed).
    x : np.ndarray [shape=(n,), float32, values in [-1, 1]]
    engine : str
        For LSTM/GRU networks: an engine name or ``"auto"`` (numba). Ignored for other kinds.

    Returns
    -------
    y : np.ndarray [shape=(n,), float32]
        Equal to the Keras model's output on ``x[None, :, None]`` within 1e-5 (sample-level), or
        to :func:`windowed_predict` (windowed).
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ParameterError(problem(
            "signal", found=f"shape {x.shape}", expected="mono audio of shape (n,)",
            fix="pass one channel, e.g. x[:, 0]",
        ))
    kind = model_kind(model)
    if kind == "windowed":
        return windowed_predict(model, x)
    if kind == "rnn":
        try:
            eng = make_engine(model, engine)
        except EngineUnavailableError:
            if engine != "auto":
                raise
        else:
            eng.reset()
            return eng.process(x)
    return _forward_fn(keras_model(model), None)(x)
