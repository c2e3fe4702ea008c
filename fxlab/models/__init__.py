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
  ``knobs=K`` (default 0) conditions it on ``K`` knob values: input ``[B, T, 1 + K]`` (audio,
  then the knobs normalised to [0, 1], per sample), the skip adding the audio channel only.
- ``gru``   the same with ``keras.layers.GRU`` (``reset_after=True``, Keras's default).
- ``tcn``   a causal dilated convolutional network, WaveNet-style (gated tanh x sigmoid units,
  residual and skip 1x1 convolutions, the skip sum into a linear ``head``); its receptive field in
  samples is :func:`receptive_field` and is stored in its config. Default 7 layers (255 samples).
  ``knobs=K`` (default 0) conditions it on ``K`` knob values by FiLM: the same ``[B, T, 1 + K]``
  input as the LSTM/GRU; a small per-sample MLP of the knobs scales and shifts every dilated
  layer's filter and gate pre-activations, per channel (:mod:`fxlab.models.tcn`).
- ``graybox`` not a network: a traditional emulator (a parametric EQ of ``sections`` biquads;
  with ``shaper=U > 0`` a Wiener--Hammerstein chain EQ -> gain -> static nonlinearity of ``U``
  tanh units -> EQ), fitted in closed form then by gradient; ``knobs=K`` adds a controller from
  the knobs to its parameters (:mod:`fxlab.models.graybox`). Trained by frequency sampling, run
  by its exact recursive filters.

``odd=1`` (``lstm``, ``gru``, ``tcn``) makes a network odd-symmetric by construction,
``y = (g(x) - g(-x)) / 2`` around the core ``g`` described above (:func:`odd_core`,
:mod:`fxlab.models.base`): for an effect known to be odd (a symmetric clipper such as fxlab's
tanh drive) it can make no even harmonic and no DC; it costs twice the core's compute.

Each family has one module holding its builder, its receptive field and the contract the runtime
and exporters rely on (layer names, weight layouts); callers ask the model, they do not inspect it:

- :mod:`fxlab.models.thesis`     the windowed networks
- :mod:`fxlab.models.recurrent`  ``lstm``/``gru``: weights for an engine (``rnn_spec``), stateful twin
- :mod:`fxlab.models.tcn`        ``tcn``: weights for its compiled kernel
- :mod:`fxlab.models.graybox`    ``graybox``: its blocks' parameters (``spec_of``), the closed-form
  initialisation (:func:`initialise`)

Functions
---------
- :data:`MODEL_NAMES`, :data:`DEFAULTS`  every model by name, with its default parameters
- :func:`family_of`        ``"windowed"`` or ``"sample"``
- :func:`structure_of`     ``"recurrent"``, ``"tcn"`` or ``"windowed"``: what a player must run
- :func:`model_config`     the full, checked parameter dict of a model (defaults + overrides)
- :func:`build_model`      a Keras model from a name and overrides
- :func:`receptive_field`  how many past input samples one output sample can see
- :func:`config_of`        the full config of a ``TrainedModel`` or of a Keras model built here
- :func:`keras_of`         the Keras model inside a ``TrainedModel`` (or the model itself)

Running a model (offline or block by block) is :mod:`fxlab.runtime`'s job.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.models import graybox, graybox_fit, recurrent, tcn, thesis
from fxlab.models.base import keras_of, odd_core, odd_wrap

__all__ = [
    "DEFAULTS",
    "MODEL_NAMES",
    "RECURRENT_SAMPLE_MODELS",
    "SAMPLE_MODELS",
    "STRUCTURES",
    "WINDOWED_MODELS",
    "build_model",
    "config_of",
    "family_of",
    "initialise",
    "keras_of",
    "model_config",
    "odd_core",
    "receptive_field",
    "structure_of",
]

#: Default parameters of every model. Overrides must use these names.
DEFAULTS: dict[str, dict[str, Any]] = {
    "thesis_lstm": {"cell": "lstm", "units": 384, "window": 1024},
    "thesis_lstm_reduced": {"cell": "lstm", "units": 160, "window": 512},
    "thesis_gru": {"cell": "gru", "units": 160, "window": 512},
    "thesis_cnn": {"window": 1024, "filters": 128, "kernel": 128, "groups": 4},
    "lstm": {"cell": "lstm", "units": 32, "layers": 1, "knobs": 0, "odd": 0},
    "gru": {"cell": "gru", "units": 32, "layers": 1, "knobs": 0, "odd": 0},
    "tcn": {"channels": 16, "kernel": 3, "layers": 7, "stacks": 1, "knobs": 0, "odd": 0},
    "graybox": {"sections": 8, "shaper": 0, "knobs": 0},
}
WINDOWED_MODELS = ("thesis_lstm", "thesis_lstm_reduced", "thesis_gru", "thesis_cnn")
SAMPLE_MODELS = ("lstm", "gru", "tcn", "graybox")
RECURRENT_SAMPLE_MODELS = ("lstm", "gru")
MODEL_NAMES = WINDOWED_MODELS + SAMPLE_MODELS
#: Each model's structure (:func:`structure_of`).
STRUCTURES = {**dict.fromkeys(WINDOWED_MODELS, "windowed"),
              **dict.fromkeys(RECURRENT_SAMPLE_MODELS, "recurrent"), "tcn": "tcn",
              "graybox": "graybox"}
#: The module that holds each model's builder and contract.
_FAMILY_MODULES = {**dict.fromkeys(WINDOWED_MODELS, thesis), "lstm": recurrent, "gru": recurrent,
                   "tcn": tcn, "graybox": graybox}

#: The models with a closed-form start from their training pair (:func:`initialise`).
_INITIALISERS = {"graybox": graybox_fit.initialise}

# Parameters a user may override (``cell`` is fixed by the name).
_LIMITS = {"units": (1, 1024), "window": (2, 1 << 16), "filters": (1, 1024), "kernel": (1, 1024),
           "groups": (1, 8), "layers": (1, 64), "channels": (1, 512), "stacks": (1, 16),
           "knobs": (0, 8), "sections": (6, 32), "shaper": (0, 64), "odd": (0, 1)}


def family_of(name: str) -> str:
    """``"windowed"`` (thesis, many-to-one) or ``"sample"`` (sequence-to-sequence) for a model name."""
    if name in WINDOWED_MODELS:
        return "windowed"
    if name in SAMPLE_MODELS:
        return "sample"
    raise unknown_name("model", name, MODEL_NAMES)


def structure_of(name: str) -> str:
    """What a player must run for model ``name``, whatever its size or knob inputs.

    ``"recurrent"``: ``lstm``/``gru``, a recurrent state carried from sample to sample;
    ``"tcn"``: causal dilated convolutions over a bounded past (its receptive field);
    ``"windowed"``: the thesis's many-to-one networks, a whole window per output sample;
    ``"graybox"``: a traditional emulator's recursive filters and static curve (no network).
    Exporters ask this (:attr:`fxlab.training.TrainedModel.structure`), not the name.
    """
    if name not in STRUCTURES:
        raise unknown_name("model", name, MODEL_NAMES)
    return STRUCTURES[name]


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
        if key == "odd" and isinstance(value, bool):
            value = int(value)
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
    Recurrent sample-level models and the gray-box emulator (recursive filters): ``None``
    (unbounded; in practice the state's memory or the filters' decay).
    """
    if config["family"] == "windowed":
        return thesis.receptive_field(config)
    if config["name"] == "tcn":
        return tcn.receptive_field(config)
    return None


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
        (``thesis_cnn``), ``units``/``layers``/``knobs``/``odd`` (``lstm``, ``gru``),
        ``channels``/``kernel``/``layers``/``stacks``/``knobs``/``odd`` (``tcn``),
        ``sections``/``shaper``/``knobs`` (``graybox``).

    Returns
    -------
    keras.Model
        Windowed: ``[B, window, 1] -> [B, 1]``; sample-level: ``[B, T, 1] -> [B, T, 1]`` (any T;
        ``[B, T, 1 + K]`` in for an LSTM, GRU or TCN with ``knobs=K``).
        Uncompiled. ``model_config(name, **overrides)`` describes it.
    """
    cfg = model_config(name, **overrides)
    if seed is not None:
        import keras

        keras.utils.set_random_seed(int(seed))
    if cfg.get("odd"):
        return odd_wrap(_FAMILY_MODULES[name].build({**cfg, "odd": 0}), int(cfg["knobs"]))
    return _FAMILY_MODULES[name].build(cfg)


def initialise(model, name: str, dry, wet, *, log=None) -> dict[str, Any]:
    """Set a freshly built model's weights from the training pair where its family has a
    closed-form start (``graybox``: :func:`fxlab.models.graybox_fit.initialise`); the networks
    start from their seeded random weights (returns ``{}``)."""
    fn = _INITIALISERS.get(name)
    return {} if fn is None else fn(model, dry, wet, log=log)


def config_of(model) -> dict[str, Any]:
    """The full config (:func:`model_config`) of a model: a ``TrainedModel`` or a built Keras model.

    A ``TrainedModel`` states its config (``config["model"]``); a Keras model built by
    :func:`build_model` is recognised by its name and read by its family's module.

    Raises
    ------
    ParameterError
        For a Keras model that :func:`build_model` did not build.
    """
    stated = getattr(model, "config", None)
    if isinstance(stated, dict) and isinstance(stated.get("model"), dict) \
            and stated["model"].get("name") in MODEL_NAMES:
        known = stated["model"]
        return model_config(known["name"], **{k: v for k, v in known.items()
                                                 if k in DEFAULTS[known["name"]] and k != "cell"})
    km = keras_of(model)
    name = km.name
    core = odd_core(km)
    if core is not None:
        return {**config_of(core), "odd": 1}
    if name not in MODEL_NAMES:
        raise ParameterError(problem(
            f"model {name!r}", found="a Keras model that fxlab.models did not build",
            expected=f"a model built by fxlab.models.build_model ({', '.join(MODEL_NAMES)})",
            fix="build it with fxlab.models.build_model or load it with fxlab.training.load_trained"))
    if name in WINDOWED_MODELS:
        if name == "thesis_cnn":
            f0 = km.get_layer("conv_0_strided")
            groups = sum(1 for layer in km.layers if layer.name.endswith("_strided"))
            return model_config(name, window=thesis.window_of(km), filters=int(f0.filters),
                                kernel=int(f0.kernel_size[0]), groups=groups)
        return model_config(name, window=thesis.window_of(km),
                            units=int(km.get_layer("rnn_0").units))
    return model_config(name, **_FAMILY_MODULES[name].config_from_keras(km))


