"""The networks: the thesis's windowed many-to-one networks and modern sample-level ones.

Two families, told apart by :func:`family_of`:

``"windowed"`` -- the thesis's networks (its Fig. 7). Input ``[B, window, 1]``: the last ``window``
dry samples up to and including time ``t``; output ``[B, 1]``: the wet sample at ``t``. Every output
sample costs a whole window of recurrent steps, which is why the thesis ran 35x slower than real time.

- ``thesis_lstm``          LSTM, 384 units, 1024-sample window (thesis, section 4.1.1)
- ``thesis_lstm_reduced``  LSTM, 160 units, 512-sample window (section 4.1.3)
- ``thesis_gru``           GRU, 160 units, 512-sample window (section 4.2: "the same parameters")
- ``thesis_cnn``           dilated CNN of section 3.1.3, 1024-sample window (our choice, see below)

``"sample"`` -- run once per sample, carrying state (Wright et al. 2020). Input ``[B, T, 1]``,
output ``[B, T, 1]``; the input is added back to the output, so the network learns the difference
between the effect and a wire.

- ``lstm``  ``rnn_0`` ... ``rnn_{L-1}`` (``keras.layers.LSTM``, return_sequences) -> ``head``
  (``Dense(1)``) -> ``skip`` (``Add`` of head and input). Default 32 units, 1 layer.
- ``gru``   the same with ``keras.layers.GRU`` (``reset_after=True``, Keras's default).
- ``tcn``   a causal dilated convolutional network, WaveNet-style (gated tanh x sigmoid units,
  residual and skip 1x1 convolutions); its receptive field in samples is
  :func:`receptive_field` and is stored in its config.

Weight layouts (for engines that run the weights outside Keras; ``H`` = units, ``I`` = the
layer's input width, 1 for ``rnn_0``):

- ``rnn_k`` LSTM: ``kernel [I, 4H]``, ``recurrent_kernel [H, 4H]``, ``bias [4H]``; gate order
  along the last axis ``i, f, c, o``; ``c_t = f*c + i*tanh(.)``, ``h_t = o*tanh(c_t)``.
- ``rnn_k`` GRU (``reset_after=True``): ``kernel [I, 3H]``, ``recurrent_kernel [H, 3H]``,
  ``bias [2, 3H]`` (input bias, recurrent bias); gate order ``z, r, h``;
  ``h_t = z*h_{t-1} + (1-z)*hh``.
- ``head``: ``kernel [H, 1]``, ``bias [1]``; ``y_t = head(h_t) + x_t``.

Functions
---------
- :data:`MODEL_NAMES`, :data:`DEFAULTS`  every model by name, with its default parameters
- :func:`family_of`        ``"windowed"`` or ``"sample"``
- :func:`model_config`     the full, checked parameter dict of a model (defaults + overrides)
- :func:`build_model`      a Keras model from a name and overrides
- :func:`receptive_field`  how many past input samples one output sample can see
- :func:`make_stateful`    the stateful twin (same weights) of a sample-level recurrent model
- :func:`reset_states`     zero the state of a stateful model
- :class:`Streamer`        block-by-block processing with state carried, for every sample-level model
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem, unknown_name

__all__ = [
    "DEFAULTS",
    "MODEL_NAMES",
    "RECURRENT_SAMPLE_MODELS",
    "SAMPLE_MODELS",
    "WINDOWED_MODELS",
    "Streamer",
    "build_model",
    "family_of",
    "make_stateful",
    "model_config",
    "receptive_field",
    "reset_states",
]

#: Default parameters of every model. Overrides must use these names.
DEFAULTS: dict[str, dict[str, Any]] = {
    "thesis_lstm": {"cell": "lstm", "units": 384, "window": 1024},
    "thesis_lstm_reduced": {"cell": "lstm", "units": 160, "window": 512},
    "thesis_gru": {"cell": "gru", "units": 160, "window": 512},
    "thesis_cnn": {"window": 1024, "filters": 128, "kernel": 128, "groups": 4},
    "lstm": {"cell": "lstm", "units": 32, "layers": 1},
    "gru": {"cell": "gru", "units": 32, "layers": 1},
    "tcn": {"channels": 16, "kernel": 3, "layers": 10, "stacks": 1},
}
WINDOWED_MODELS = ("thesis_lstm", "thesis_lstm_reduced", "thesis_gru", "thesis_cnn")
SAMPLE_MODELS = ("lstm", "gru", "tcn")
RECURRENT_SAMPLE_MODELS = ("lstm", "gru")
MODEL_NAMES = WINDOWED_MODELS + SAMPLE_MODELS

# Parameters a user may override (``cell`` is fixed by the name).
_LIMITS = {"units": (1, 1024), "window": (2, 1 << 16), "filters": (1, 1024), "kernel": (1, 1024),
           "groups": (1, 8), "layers": (1, 64), "channels": (1, 512), "stacks": (1, 16)}


def family_of(name: str) -> str:
    """``"windowed"`` (thesis, many-to-one) or ``"sample"`` (sequence-to-sequence) for a model name."""
    if name in WINDOWED_MODELS:
        return "windowed"
    if name in SAMPLE_MODELS:
        return "sample"
    raise unknown_name("model", name, MODEL_NAMES)


def model_config(name: str, **overrides) -> dict[str, Any]:
    """The full parameter dict of model ``name``: :data:`DEFAULTS` updated by ``overrides``.

    Every value is checked (integers in range); the result also holds ``name``, ``family`` and
    ``receptive_field`` (samples). Raises :class:`~fxlab.errors.UnknownNameError` for an unknown
    model or parameter, :class:`~fxlab.errors.ParameterError` for a bad value.
    """
    family = family_of(name)
    cfg = dict(DEFAULTS[name])
    for key, value in overrides.items():
        if key not in cfg or key == "cell":
            raise unknown_name(f"parameter of model {name!r}", key, [k for k in cfg if k != "cell"])
        lo, hi = _LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not lo <= value <= hi:
            raise ParameterError(problem(
                f"model {name!r} parameter {key}={value!r}", found=f"{value!r}",
                expected=f"an integer in [{lo}, {hi}]", fix=f"pass {key}= an integer in that range"))
        cfg[key] = int(value)
    if name == "thesis_cnn":
        for key in ("filters", "kernel"):
            if cfg[key] >> (cfg["groups"] - 1) < 1:
                raise ParameterError(problem(
                    f"model 'thesis_cnn' {key}={cfg[key]} with groups={cfg['groups']}",
                    found=f"{key} that halves to 0 before the last group",
                    expected=f"{key} >= 2**(groups-1) = {1 << (cfg['groups'] - 1)}",
                    fix=f"raise {key} or lower groups"))
    cfg = {"name": name, "family": family, **cfg}
    cfg["receptive_field"] = receptive_field(cfg)
    return cfg


def receptive_field(config: dict[str, Any]) -> int | None:
    """Number of input samples (the current one included) an output sample depends on.

    Windowed models: the window. ``tcn``: ``1 + (kernel - 1) * stacks * (2**layers - 1)``.
    Recurrent sample-level models: ``None`` (unbounded; in practice the state's memory).
    """
    if config["family"] == "windowed":
        return int(config["window"])
    if config["name"] == "tcn":
        return 1 + (config["kernel"] - 1) * config["stacks"] * ((1 << config["layers"]) - 1)
    return None


def _keras():
    import keras

    return keras


def _rnn_layer(cell: str, units: int, *, name: str, return_sequences: bool, stateful: bool = False):
    keras = _keras()
    cls = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    return cls(units, return_sequences=return_sequences, stateful=stateful, name=name)


def _build_windowed_rnn(cfg):
    keras = _keras()
    x = keras.Input(shape=(cfg["window"], 1), name="window")
    h = _rnn_layer(cfg["cell"], cfg["units"], name="rnn_0", return_sequences=False)(x)
    y = keras.layers.Dense(1, activation="tanh", name="head")(h)
    return keras.Model(x, y, name=cfg["name"])


def _build_thesis_cnn(cfg):
    """Section 3.1.3. Choices where the thesis is silent: ``padding="same"`` for every convolution
    and pooling (so any window >= 2 works; causality is the window's, which ends at ``t``), max
    pooling, tanh on the three hidden dense layers and on the last one (the thesis: tanh output),
    and the result added to the window's last input sample (``y = x[t] + tanh(...)``)."""
    keras = _keras()
    layers = keras.layers
    x = keras.Input(shape=(cfg["window"], 1), name="window")
    h = x
    filters, kernel, step = cfg["filters"], cfg["kernel"], 1
    for g in range(cfg["groups"]):
        h = layers.Conv1D(filters, kernel, strides=step, padding="same", activation="tanh",
                          name=f"conv_{g}_strided")(h)
        h = layers.Conv1D(filters, kernel, dilation_rate=step, padding="same", activation="tanh",
                          name=f"conv_{g}_dilated")(h)
        h = layers.MaxPooling1D(pool_size=step, strides=step, padding="same", name=f"pool_{g}")(h)
        filters, kernel, step = max(filters // 2, 1), max(kernel // 2, 1), step * 2
    h = layers.Flatten(name="flatten")(h)
    for i, width in enumerate((8, 4, 2)):
        h = layers.Dense(width, activation="tanh", name=f"dense_{i}")(h)
    d = layers.Dense(1, activation="tanh", name="head")(h)
    last = layers.Cropping1D((cfg["window"] - 1, 0), name="last_input")(x)
    last = layers.Reshape((1,), name="last_input_flat")(last)
    y = layers.Add(name="skip")([d, last])
    return keras.Model(x, y, name=cfg["name"])


def _build_sample_rnn(cfg, *, batch_size: int | None = None, stateful: bool = False):
    keras = _keras()
    if stateful:
        x = keras.Input(batch_shape=(batch_size, None, 1), name="audio")
    else:
        x = keras.Input(shape=(None, 1), name="audio")
    h = x
    for i in range(cfg["layers"]):
        h = _rnn_layer(cfg["cell"], cfg["units"], name=f"rnn_{i}", return_sequences=True,
                       stateful=stateful)(h)
    d = keras.layers.Dense(1, name="head")(h)
    y = keras.layers.Add(name="skip")([d, x])
    return keras.Model(x, y, name=cfg["name"] + ("_stateful" if stateful else ""))


def _build_tcn(cfg):
    keras = _keras()
    layers = keras.layers
    c, k = cfg["channels"], cfg["kernel"]
    x = keras.Input(shape=(None, 1), name="audio")
    h = layers.Conv1D(c, 1, name="input_proj")(x)
    skips = []
    i = 0
    for _ in range(cfg["stacks"]):
        for j in range(cfg["layers"]):
            d = 1 << j
            f = layers.Conv1D(c, k, dilation_rate=d, padding="causal", activation="tanh",
                              name=f"filter_{i}")(h)
            g = layers.Conv1D(c, k, dilation_rate=d, padding="causal", activation="sigmoid",
                              name=f"gate_{i}")(h)
            z = layers.Multiply(name=f"gated_{i}")([f, g])
            skips.append(layers.Conv1D(c, 1, name=f"skip_{i}")(z))
            h = layers.Add(name=f"residual_{i}")([h, layers.Conv1D(c, 1, name=f"res_{i}")(z)])
            i += 1
    s = layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
    s = layers.Activation("tanh", name="skip_tanh")(s)
    out = layers.Dense(1, name="head")(s)
    y = layers.Add(name="skip")([out, x])
    return keras.Model(x, y, name=cfg["name"])


def build_model(name: str, *, seed: int | None = None, **overrides):
    """Build the Keras model ``name`` (one of :data:`MODEL_NAMES`) with parameter ``overrides``.

    Parameters
    ----------
    name : str
        Model name; see the module docstring.
    seed : int or None
        If given, ``keras.utils.set_random_seed(seed)`` first, so the initial weights repeat.
    **overrides
        ``units``/``window`` (thesis RNNs), ``window``/``filters``/``kernel``/``groups``
        (``thesis_cnn``), ``units``/``layers`` (``lstm``, ``gru``),
        ``channels``/``kernel``/``layers``/``stacks`` (``tcn``).

    Returns
    -------
    keras.Model
        Windowed: ``[B, window, 1] -> [B, 1]``; sample-level: ``[B, T, 1] -> [B, T, 1]`` (any T).
        Uncompiled. ``model_config(name, **overrides)`` describes it.
    """
    cfg = model_config(name, **overrides)
    if seed is not None:
        _keras().utils.set_random_seed(int(seed))
    if name == "thesis_cnn":
        return _build_thesis_cnn(cfg)
    if cfg["family"] == "windowed":
        return _build_windowed_rnn(cfg)
    if name == "tcn":
        return _build_tcn(cfg)
    return _build_sample_rnn(cfg)


def _config_of(model) -> dict[str, Any]:
    """Recover the model config from a model built by :func:`build_model`."""
    name = model.name.removesuffix("_stateful")
    if name in RECURRENT_SAMPLE_MODELS:
        rnns = [layer for layer in model.layers if layer.name.startswith("rnn_")]
        return model_config(name, units=int(rnns[0].units), layers=len(rnns))
    if name == "tcn":
        n = sum(1 for layer in model.layers if layer.name.startswith("filter_"))
        f0 = model.get_layer("filter_0")
        layers_per_stack = 1 + max(
            int(np.log2(model.get_layer(f"filter_{i}").dilation_rate[0])) for i in range(n))
        return model_config("tcn", channels=int(f0.filters), kernel=int(f0.kernel_size[0]),
                            layers=layers_per_stack, stacks=n // layers_per_stack)
    raise ParameterError(problem(
        f"model {model.name!r}", found="a model that is not a sample-level fxlab model",
        expected=f"a model built by fxlab.models.build_model with one of {SAMPLE_MODELS}",
        fix="stream only sample-level models (windowed ones are many-to-one)"))


def make_stateful(model, *, batch_size: int = 1):
    """The stateful twin of a sample-level recurrent model (``lstm``/``gru``), same weights.

    The twin has input ``batch_shape=(batch_size, None, 1)`` and ``stateful=True`` recurrent
    layers with the same names (``rnn_0``...) and weights, so calling it block after block equals
    one call over the whole sequence. Zero its state with :func:`reset_states`.
    For ``tcn`` (no recurrent state) use :class:`Streamer`, which carries an input history.
    """
    cfg = _config_of(model)
    if cfg["name"] not in RECURRENT_SAMPLE_MODELS:
        raise ParameterError(problem(
            f"model {model.name!r}", found="a convolutional model (no recurrent state)",
            expected="an 'lstm' or 'gru' model",
            fix="use fxlab.models.Streamer(model), which carries the TCN's input history"))
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ParameterError(problem(f"batch_size={batch_size!r}", found=repr(batch_size),
                                     expected="an integer >= 1", fix="pass batch_size=1"))
    twin = _build_sample_rnn(cfg, batch_size=batch_size, stateful=True)
    twin.set_weights(model.get_weights())
    return twin


def reset_states(model) -> None:
    """Zero the recurrent state of every stateful layer of ``model`` (no-op for others)."""
    for layer in model.layers:
        if getattr(layer, "stateful", False) and hasattr(layer, "reset_state"):
            layer.reset_state()


class Streamer:
    """Process a signal block by block with state carried between calls (batch 1).

    ``lstm``/``gru``: the stateful twin (:func:`make_stateful`). ``tcn``: the model run over the
    last ``receptive_field - 1`` input samples followed by the block. Either way the concatenated
    block outputs equal one call over the whole signal (to float rounding).

    Examples
    --------
    >>> s = Streamer(model)                           # doctest: +SKIP
    >>> y = np.concatenate([s.process(b) for b in np.split(x, 8)])  # doctest: +SKIP
    """

    def __init__(self, model):
        self.config = _config_of(model)
        if self.config["name"] == "tcn":
            self.model = model
            self._history = np.zeros(self.config["receptive_field"] - 1, np.float32)
        else:
            self.model = make_stateful(model, batch_size=1)
            self._history = None

    def reset(self) -> None:
        """Forget the past: zero state (or input history)."""
        if self._history is not None:
            self._history[:] = 0.0
        else:
            reset_states(self.model)

    def process(self, block: np.ndarray) -> np.ndarray:
        """Process ``block`` (float32, shape ``(n,)``, n >= 1); returns the output, shape ``(n,)``."""
        x = np.asarray(block, np.float32).reshape(-1)
        if self._history is None:
            return np.asarray(self.model.predict_on_batch(x[None, :, None])).reshape(-1)
        full = np.concatenate([self._history, x])
        y = np.asarray(self.model.predict_on_batch(full[None, :, None])).reshape(-1)[-x.size:]
        if self._history.size:
            self._history = full[-self._history.size:].copy()
        return y
