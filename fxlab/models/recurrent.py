"""The sample-level recurrent networks ``lstm`` and ``gru`` (Wright et al. 2020), and their contract.

Input ``[B, T, 1]`` -> ``keras.layers.LSTM``/``GRU`` layers named ``rnn_0`` ... ``rnn_{L-1}``
(``return_sequences=True``) -> ``Dense(1, name="head")`` -> ``skip`` (``Add`` of the head and the
input), so the network learns the difference between the effect and a wire. GRUs use
``reset_after=True`` (Keras's default).

Knob-conditioned (``knobs=K > 0``; ``knobs=0``, the default, builds exactly the graph above): the
input is ``[B, T, 1 + K]`` named ``audio_knobs`` -- the audio first, then the ``K`` knob values
normalised to [0, 1] (:meth:`fxlab.effects.Knob.normalise`), one row per sample, as AIDA-X and
Proteus feed their networks (AIDA-X takes at most two knobs) -- into the same ``rnn_0`` ...,
``head``; the skip adds the audio channel alone, cut out of the input by ``audio_t``
(``Permute``), ``audio_crop`` (``Cropping1D``) and ``audio`` (``Permute``): built-in layers, so a
saved model loads without fxlab's code. ``rnn_0``'s kernel is then ``[1 + K, G*H]``.

Weight layouts (``H`` = units, ``I`` = the layer's input width, 1 for ``rnn_0``):

- LSTM ``rnn_k``: ``kernel [I, 4H]`` (``I = 1 + K`` for ``rnn_0`` of a conditioned network), ``recurrent_kernel [H, 4H]``, ``bias [4H]``; gate order
  along the last axis ``i, f, c, o``; ``c_t = f*c + i*tanh(.)``, ``h_t = o*tanh(c_t)``.
- GRU ``rnn_k``: ``kernel [I, 3H]``, ``recurrent_kernel [H, 3H]``, ``bias [2, 3H]`` (input bias,
  recurrent bias); gate order ``z, r, h``; ``h_t = z*h_{t-1} + (1-z)*hh``.
- ``head``: ``kernel [H, 1]``, ``bias [1]``; ``y_t = head(h_t) + x_t``.

This file is the only one that knows those names. The runtime asks it for the weights
(:func:`rnn_spec`) and for the stateful twin (:func:`stateful_twin`).

- :func:`build`              the Keras model from a full config
- :func:`config_from_keras`  the model parameters of a built model (units, layers, knobs)
- :class:`RnnSpec`, :func:`rnn_spec`   the trained weights, checked, for an engine or an exporter
- :func:`stateful_twin`      the same network with its state as explicit inputs and outputs
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fxlab.errors import EngineUnavailableError, problem
from fxlab.models.base import keras_of

__all__ = ["RnnSpec", "build", "config_from_keras", "rnn_spec", "stateful_twin"]


def build(cfg: dict[str, Any]):
    """The Keras model of a sample-level recurrent network from its full config."""
    import keras

    cls = keras.layers.LSTM if cfg["cell"] == "lstm" else keras.layers.GRU
    k = int(cfg.get("knobs", 0))
    x = keras.Input(shape=(None, 1 + k), name="audio_knobs" if k else "audio")
    h = x
    for i in range(cfg["layers"]):
        h = cls(cfg["units"], return_sequences=True, name=f"rnn_{i}")(h)
    d = keras.layers.Dense(1, name="head")(h)
    audio = x
    if k:
        audio = keras.layers.Permute((2, 1), name="audio_t")(x)
        audio = keras.layers.Cropping1D((0, k), name="audio_crop")(audio)
        audio = keras.layers.Permute((2, 1), name="audio")(audio)
    y = keras.layers.Add(name="skip")([d, audio])
    return keras.Model(x, y, name=cfg["name"])


#: The layers that cut the audio channel out of a conditioned network's input (for the skip).
AUDIO_LAYERS = ("audio_t", "audio_crop", "audio")


def config_from_keras(km) -> dict[str, Any]:
    """``units``, ``layers`` and ``knobs`` of a network built by :func:`build`."""
    rnns = [layer for layer in km.layers if layer.name.startswith("rnn_")]
    return {"units": int(rnns[0].units), "layers": len(rnns),
            "knobs": int(km.inputs[0].shape[-1]) - 1}


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
        (``n_in = 1 + knobs`` for the first layer: audio, then the knob values)
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

    @property
    def knobs(self) -> int:
        """Knob values read per sample beside the audio (0: an unconditioned network)."""
        return int(self.kernels[0].shape[0]) - 1


def rnn_spec(model) -> RnnSpec:
    """Read and check the weights of a sample-level recurrent network.

    The network must be what ``fxlab.models`` builds: input ``[B, T, 1 + K]`` -> ``LSTM``/``GRU``
    layers named ``rnn_0``, ``rnn_1``, ... (``return_sequences=True``, one cell type) -> ``Dense(1,
    name="head")`` -> optionally plus the input's audio channel (an ``Add`` layer).

    Raises
    ------
    EngineUnavailableError
        If the graph holds other layers, mixes cell types or runs backwards.
    """
    km = keras_of(model)
    name = str(getattr(model, "name", None) or km.name)
    rnns = sorted(
        (layer for layer in km.layers if type(layer).__name__ in ("LSTM", "GRU")),
        key=lambda layer: int(layer.name.split("_")[-1]) if layer.name.split("_")[-1].isdigit() else 0,
    )
    heads = [layer for layer in km.layers if layer.name == "head"]
    others = [
        layer for layer in km.layers
        if layer not in rnns and layer not in heads
        and type(layer).__name__ not in ("InputLayer", "Add")
        and layer.name not in AUDIO_LAYERS
    ]
    if not rnns or len(heads) != 1 or others:
        raise EngineUnavailableError(problem(
            f"model {name!r}",
            found="layers " + ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in km.layers),
            expected="LSTM/GRU layers rnn_0, rnn_1, ... then Dense(1, name='head') plus the input",
            fix="run it with engine='keras' (fxlab.runtime.make_processor)",
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


def stateful_twin(spec: RnnSpec):
    """The stateful twin: ``[x [1,T,1+K], *states [1,u]] -> [head [1,T,1], *new states]``.

    The same recurrent layers (``return_state=True``) and head with the trained weights; the state
    goes in and comes out explicitly, so a caller carries it between blocks (the residual input is
    not added: the caller adds it). LSTM layers take and return ``h, c``; GRU layers ``h``.
    The Keras-graph engines of :mod:`fxlab.runtime.engines` run it.
    """
    import keras

    x_in = keras.Input(shape=(None, 1 + spec.knobs), batch_size=1, name="x")
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
