"""The causal dilated convolutional network ``tcn`` (WaveNet-style), and its contract.

Input ``[B, T, 1]`` -> ``input_proj`` (1x1 ``Conv1D``) -> per layer ``i`` a gated unit
``tanh(filter_i(h)) * sigmoid(gate_i(h))`` (causal ``Conv1D``, kernel ``kernel``, dilation
``2**(i mod layers)``) feeding a 1x1 ``skip_i`` and a 1x1 ``res_i`` added back to ``h``
(``residual_i``) -> the sum of the skips (``skip_sum``) -> ``Dense(1, name="head")`` -> ``skip``
(plus the input). Default 16 channels, kernel 3, 7 layers (dilations 1..64, a receptive field of
255 samples, ~16 time constants of the study's 440 Hz high-pass).

Why this design, measured on the quick profile (miniaudio, 12 epochs, Validation 2 ESR): the
first version (10 layers, 2047 samples, a tanh after the skip sum, Keras's default head, trained on
512-sample segments with a 64-sample warm-up) reached only 4.3e-2. Three causes: (1) training
scored outputs whose receptive field reached back before the segment into zeros, inputs the
network never meets over a whole signal -- so its warm-up is now at least ``receptive_field - 1``
(:meth:`fxlab.training.StudyConfig.train_configs`); (2) 2047 samples is far longer than the
effect's memory (its impulse response decays like exp(-n/16)), and a full-context warm-up then
leaves few segments per epoch -- 255 samples suffice (127 did as well); (3) a head that starts
near zero (normal, standard deviation 1e-3) makes the untrained network a wire, so training learns
only the difference from the input (4x-16x better than Glorot's start). The tanh changed little and
was dropped: the difference to learn is linear. Together: 8.8e-5 on speech in under a minute.

Knob-conditioned (``knobs=K > 0``; ``knobs=0``, the default, builds exactly the graph above, with
the same weights for the same seed): FiLM (feature-wise linear modulation, as micro-TCN conditions
its TCN). The input is ``[B, T, 1 + K]`` named ``audio_knobs`` -- the audio, then the ``K`` knob
values normalised to [0, 1], one row per sample, as the LSTM/GRU read them
(:mod:`fxlab.models.recurrent`). Built-in layers cut it into the audio ``[B, T, 1]`` (``audio_t``
``Permute``, ``audio_crop`` ``Cropping1D``, ``audio`` ``Permute``; it feeds ``input_proj`` and the
skip) and the knobs ``[B, T, K]`` (``knob_crop``, ``knobs``). A generator reads the knobs per
sample, ``film_hidden_0`` ``Dense(16, relu)`` -> ``film_hidden_1`` ``Dense(32, relu)`` (micro-TCN's
is 16 -> 32 -> 32), and per layer ``i`` four ``Dense(C)`` adapters give a per-channel scale and
shift for the filter and for the gate: ``film_filter_scale_i``, ``film_filter_shift_i``,
``film_gate_scale_i``, ``film_gate_shift_i``. They modulate the dilated convolutions' outputs before
their nonlinearities (where micro-TCN and WaveNet's conditioning act, so a gain knob can scale the
drive into the tanh): ``filter_i`` and ``gate_i`` are then linear and

    z_i = tanh(gamma_f * filter_i(h) + beta_f) * sigmoid(gamma_g * gate_i(h) + beta_g)

(layers ``filter_scaled_i`` ``Multiply``, ``filter_film_i`` ``Add``, ``filter_act_i``
``Activation``, the same for the gate), per sample and per channel. The adapters start with zero
kernels, their scales with biases of one and their shifts with zeros, so a freshly built
conditioned TCN is the unconditioned one at every knob value, and training learns how the knobs
move it. Parameters: the unconditioned TCN's plus ``16 K + 560 + 4 L (32 C + C)`` (21,696 for
C=16, 10 layers, one knob, beside the TCN's own 20,897: the adapters are most of it). Every
layer is a built-in Keras layer, so a saved model loads without fxlab's code, on TensorFlow and
JAX.

This file is the only one that knows those names.

- :func:`build`              the Keras model from a full config
- :func:`receptive_field`    ``1 + (kernel - 1) * stacks * (2**layers - 1)`` samples
- :func:`config_from_keras`  the model parameters of a built model (channels, kernel, layers,
  stacks, knobs)
- :class:`TcnSpec`, :func:`tcn_spec`   the trained weights, read by layer name and checked, for the
  compiled kernel (:mod:`fxlab.runtime.tcn_kernel`) or an exporter
- :class:`FilmSpec`          a conditioned TCN's FiLM generator (``TcnSpec.film``)
- :data:`FILM_HIDDEN`        the generator's hidden widths
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from fxlab.errors import EngineUnavailableError, problem

__all__ = ["FILM_HIDDEN", "FilmSpec", "TcnSpec", "build", "config_from_keras", "receptive_field",
           "tcn_spec"]

#: Widths of the FiLM generator's two hidden ReLU layers (``film_hidden_0``, ``film_hidden_1``).
FILM_HIDDEN = (16, 32)


#: The names of the dilated filter convolutions (``filter_act_i`` and the like are not).
_FILTER = re.compile(r"filter_[0-9]+")


def receptive_field(cfg: dict[str, Any]) -> int:
    """Input samples (the current one included) one output sample depends on."""
    return 1 + (cfg["kernel"] - 1) * cfg["stacks"] * ((1 << cfg["layers"]) - 1)


def build(cfg: dict[str, Any]):
    """The Keras model of the TCN from its full config (``knobs`` > 0: conditioned by FiLM)."""
    import keras

    layers = keras.layers
    c, k = cfg["channels"], cfg["kernel"]
    n_knobs = int(cfg.get("knobs", 0))
    if n_knobs:
        inp = keras.Input(shape=(None, 1 + n_knobs), name="audio_knobs")
        t = layers.Permute((2, 1), name="audio_t")(inp)
        x = layers.Cropping1D((0, n_knobs), name="audio_crop")(t)
        x = layers.Permute((2, 1), name="audio")(x)
        cond = layers.Cropping1D((1, 0), name="knob_crop")(t)
        cond = layers.Permute((2, 1), name="knobs")(cond)
        for j, width in enumerate(FILM_HIDDEN):
            cond = layers.Dense(width, activation="relu", name=f"film_hidden_{j}")(cond)
    else:
        inp = x = keras.Input(shape=(None, 1), name="audio")
    h = layers.Conv1D(c, 1, name="input_proj")(x)
    skips = []
    i = 0
    for _ in range(cfg["stacks"]):
        for j in range(cfg["layers"]):
            d = 1 << j
            if n_knobs:
                f = _film(layers, cond, h, c, k, d, i, "filter", "tanh")
                g = _film(layers, cond, h, c, k, d, i, "gate", "sigmoid")
            else:
                f = layers.Conv1D(c, k, dilation_rate=d, padding="causal", activation="tanh",
                                  name=f"filter_{i}")(h)
                g = layers.Conv1D(c, k, dilation_rate=d, padding="causal", activation="sigmoid",
                                  name=f"gate_{i}")(h)
            z = layers.Multiply(name=f"gated_{i}")([f, g])
            skips.append(layers.Conv1D(c, 1, name=f"skip_{i}")(z))
            h = layers.Add(name=f"residual_{i}")([h, layers.Conv1D(c, 1, name=f"res_{i}")(z)])
            i += 1
    s = layers.Add(name="skip_sum")(skips) if len(skips) > 1 else skips[0]
    out = layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(stddev=1e-3),
                       name="head")(s)
    y = layers.Add(name="skip")([out, x])
    return keras.Model(inp, y, name=cfg["name"])


def _film(layers, cond, h, c, k, d, i, part, activation):
    """``activation(scale(cond) * conv(h) + shift(cond))``: a FiLM-modulated convolution."""
    conv = layers.Conv1D(c, k, dilation_rate=d, padding="causal", name=f"{part}_{i}")(h)
    scale = layers.Dense(c, kernel_initializer="zeros", bias_initializer="ones",
                         name=f"film_{part}_scale_{i}")(cond)
    shift = layers.Dense(c, kernel_initializer="zeros", bias_initializer="zeros",
                         name=f"film_{part}_shift_{i}")(cond)
    v = layers.Multiply(name=f"{part}_scaled_{i}")([conv, scale])
    v = layers.Add(name=f"{part}_film_{i}")([v, shift])
    return layers.Activation(activation, name=f"{part}_act_{i}")(v)


def config_from_keras(km) -> dict[str, Any]:
    """``channels``, ``kernel``, ``layers``, ``stacks``, ``knobs`` of a TCN :func:`build` made."""
    filters = [layer for layer in km.layers if _FILTER.fullmatch(layer.name)]
    dil = [int(np.atleast_1d(layer.get_config()["dilation_rate"])[0]) for layer in filters]
    per_stack = 1 + max(int(np.log2(d)) for d in dil)
    f0 = filters[0].get_config()
    return {"channels": int(f0["filters"]), "kernel": int(np.atleast_1d(f0["kernel_size"])[0]),
            "layers": per_stack, "stacks": len(filters) // per_stack,
            "knobs": int(km.inputs[0].shape[-1]) - 1}


@dataclass(frozen=True)
class FilmSpec:
    """The FiLM generator of a knob-conditioned TCN, float32, for the compiled kernel.

    ``K`` = knobs, ``L`` = dilated layers, ``C`` = channels; ``H0, H1`` = :data:`FILM_HIDDEN`.
    Per sample, from the knob row ``u [K]``:
    ``a = relu(u @ w0 + b0)``, ``v = relu(a @ w1 + b1)``, ``film = v @ wa + ba`` (``[L * 4C]``);
    layer ``l``'s fused filter-and-gate pre-activation ``acc [2C]`` (filter first, as
    ``TcnSpec.conv_w``'s columns) becomes ``acc * film[l, :2C] + film[l, 2C:]``.

    Attributes
    ----------
    w0 : np.ndarray [shape=(K, H0)]
    b0 : np.ndarray [shape=(H0,)]
    w1 : np.ndarray [shape=(H0, H1)]
    b1 : np.ndarray [shape=(H1,)]
    wa : np.ndarray [shape=(H1, L * 4C)]
        The adapters stacked: per layer the filter's and the gate's scales, then their shifts.
    ba : np.ndarray [shape=(L * 4C,)]
        Their biases, in the same order.
    """

    w0: np.ndarray
    b0: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    wa: np.ndarray
    ba: np.ndarray

    @property
    def knobs(self) -> int:
        """``K``, the knob values read per sample."""
        return int(self.w0.shape[0])

    @property
    def macs(self) -> int:
        """Multiply-adds of one run of the generator (one knob row to every scale and shift)."""
        return int(self.w0.size + self.w1.size + self.wa.size)


@dataclass(frozen=True)
class TcnSpec:
    """The weights of one TCN, float32 numpy arrays laid out for :class:`fxlab.runtime.tcn_kernel.TcnKernel`.

    ``C`` = channels, ``K`` = kernel size, ``L`` = dilated layers in all (stacks x layers).

    Attributes
    ----------
    input_w, input_b : np.ndarray [shape=(C,)]
        The 1x1 input projection: ``h = x * input_w + input_b``.
    dilations : np.ndarray [shape=(L,), int64]
        Dilation of each layer, in samples.
    conv_w : np.ndarray [shape=(L, K, C, 2C)]
        Per layer and tap, the filter (columns ``:C``) and gate (columns ``C:``) kernels fused;
        tap ``m`` reads the layer input ``(K - 1 - m) * dilation`` samples ago.
    conv_b : np.ndarray [shape=(L, 2C)]
        Filter and gate biases.
    skip_w : np.ndarray [shape=(L, C, C)]
        The 1x1 skip convolutions (input channel, output channel).
    skip_b : np.ndarray [shape=(C,)]
        The sum of the skip convolutions' biases.
    res_w : np.ndarray [shape=(L, C, C)]
        The 1x1 residual convolutions; the last layer's is unused (zeros).
    res_b : np.ndarray [shape=(L, C)]
        Their biases (the last layer's zeros).
    head_w : np.ndarray [shape=(C,)]
        The ``head`` Dense layer's kernel.
    head_b : float
        Its bias.
    skip_tanh : bool
        Whether a tanh follows the skip sum (a ``skip_tanh`` layer in the model).
    receptive_field : int
        Input samples one output sample depends on, the current one included.
    film : FilmSpec or None
        The FiLM generator of a knob-conditioned TCN (None: not conditioned).
    """

    input_w: np.ndarray
    input_b: np.ndarray
    dilations: np.ndarray
    conv_w: np.ndarray
    conv_b: np.ndarray
    skip_w: np.ndarray
    skip_b: np.ndarray
    res_w: np.ndarray
    res_b: np.ndarray
    head_w: np.ndarray
    head_b: float
    skip_tanh: bool
    receptive_field: int
    film: FilmSpec | None = None

    @property
    def knobs(self) -> int:
        """Knob values read per sample beside the audio (0: an unconditioned TCN)."""
        return 0 if self.film is None else self.film.knobs

    @property
    def channels(self) -> int:
        """``C``, the width of every layer."""
        return int(self.input_w.shape[0])

    @property
    def kernel(self) -> int:
        """``K``, the taps of every dilated convolution."""
        return int(self.conv_w.shape[1])

    @property
    def n_layers(self) -> int:
        """``L``, the dilated layers in all."""
        return int(self.dilations.shape[0])

    @property
    def macs_per_sample(self) -> int:
        """Multiply-adds per output sample (input projection, dilated, skip, residual, head; with
        FiLM its scale and shift of every pre-activation, not the generator's
        :attr:`FilmSpec.macs`)."""
        c, k, n = self.channels, self.kernel, self.n_layers
        return c + n * (k * c * 2 * c + c * c) + (n - 1) * c * c + c + (
            0 if self.film is None else n * 2 * c)


def _bad_model(model, found: str) -> EngineUnavailableError:
    return EngineUnavailableError(problem(
        f"model {getattr(model, 'name', model)!r}", found=found,
        expected="a TCN built by fxlab.models.build_model('tcn', ...) (layers input_proj, "
                 "filter_i, gate_i, skip_i, res_i, head)",
        fix="pass the Keras model of a trained or freshly built 'tcn' (TrainedModel.model)"))


def tcn_spec(keras_model, *, film: bool = False) -> TcnSpec:
    """Read the weights of a TCN built by ``fxlab.models.build_model('tcn', ...)``.

    The layers are found by name; this is the contract with :func:`build`:

    - ``input_proj``: ``Conv1D(C, 1)``, kernel ``[1, 1, C]``, bias ``[C]``.
    - ``filter_i``, ``gate_i`` for ``i = 0 .. L-1`` (numbered across stacks): causal
      ``Conv1D(C, K, dilation_rate=d_i)``, kernel ``[K, C, C]``, bias ``[C]``; activations tanh and
      sigmoid, multiplied (``gated_i``).
    - ``skip_i``: ``Conv1D(C, 1)`` of the gated output, kernel ``[1, C, C]``, bias ``[C]``; the skips
      are summed (``skip_sum``).
    - ``res_i``: ``Conv1D(C, 1)`` of the gated output added to the layer's input to give the next
      layer's input; the last layer's may be absent (it feeds nothing).
    - ``skip_tanh`` (optional): a tanh ``Activation`` on the skip sum.
    - ``head``: ``Dense(1)``, kernel ``[C, 1]``, bias ``[1]``; the model's output is
      ``head(...) + x`` (``skip``).
    - Conditioned (input ``[B, T, 1 + K]``): ``filter_i`` and ``gate_i`` linear, their outputs
      modulated by FiLM (see the module docstring): ``film_hidden_0`` ``Dense(H0, relu)`` kernel
      ``[K, H0]``, ``film_hidden_1`` ``Dense(H1, relu)`` kernel ``[H0, H1]``, and per layer
      ``film_{filter,gate}_{scale,shift}_i`` ``Dense(C)`` kernels ``[H1, C]``, read into
      :attr:`TcnSpec.film`.

    Parameters
    ----------
    keras_model : keras.Model
        The TCN (``TrainedModel.model`` of a trained one).
    film : bool
        Whether the caller applies a conditioned TCN's FiLM (reads :attr:`TcnSpec.film`). False,
        the default, refuses a conditioned TCN with the reason, so that a caller written for the
        unconditioned TCN (an exporter) never drops the knobs silently.

    Returns
    -------
    TcnSpec

    Raises
    ------
    fxlab.errors.EngineUnavailableError
        If a layer of the contract is missing or has another shape (a ``ParameterError``), or the
        TCN is conditioned and ``film`` is False.
    """
    names = {layer.name: layer for layer in keras_model.layers}
    for need in ("input_proj", "filter_0", "gate_0", "skip_0", "head"):
        if need not in names:
            raise _bad_model(keras_model, f"no layer named {need!r}")
    n = sum(1 for name in names if _FILTER.fullmatch(name))
    n_knobs = int(keras_model.inputs[0].shape[-1]) - 1
    if n_knobs and not film:
        raise EngineUnavailableError(problem(
            f"model {getattr(keras_model, 'name', keras_model)!r}",
            found=f"a TCN conditioned on {n_knobs} knob(s) by FiLM",
            expected="an unconditioned TCN: this reader does not apply FiLM",
            fix="run it with fxlab.runtime.make_processor (the numba kernel applies FiLM); "
                "knob inputs are not exported yet (docs/KNOBS.md)"))
    wi, bi = names["input_proj"].get_weights()
    c = int(wi.shape[-1])
    k = int(names["filter_0"].get_weights()[0].shape[0])
    conv_w = np.zeros((n, k, c, 2 * c), np.float32)
    conv_b = np.zeros((n, 2 * c), np.float32)
    skip_w = np.zeros((n, c, c), np.float32)
    skip_b = np.zeros(c, np.float32)
    res_w = np.zeros((n, c, c), np.float32)
    res_b = np.zeros((n, c), np.float32)
    dilations = np.zeros(n, np.int64)
    for i in range(n):
        try:
            f, g, s = names[f"filter_{i}"], names[f"gate_{i}"], names[f"skip_{i}"]
        except KeyError as e:
            raise _bad_model(keras_model, f"no layer named {e.args[0]!r}") from None
        (fw, fb), (gw, gb), (sw, sb) = f.get_weights(), g.get_weights(), s.get_weights()
        if fw.shape != (k, c, c) or gw.shape != (k, c, c) or sw.shape != (1, c, c):
            raise _bad_model(keras_model, f"layer {i} kernels of shapes {fw.shape}, {gw.shape}, "
                                          f"{sw.shape} (expected {(k, c, c)} and {(1, c, c)})")
        dilations[i] = int(f.dilation_rate[0])
        conv_w[i, :, :, :c], conv_w[i, :, :, c:] = fw, gw
        conv_b[i, :c], conv_b[i, c:] = fb, gb
        skip_w[i], skip_b = sw[0], skip_b + sb
        if f"res_{i}" in names and i < n - 1:
            rw, rb = names[f"res_{i}"].get_weights()
            res_w[i], res_b[i] = rw[0], rb
        elif i < n - 1:
            raise _bad_model(keras_model, f"no layer named 'res_{i}'")
    hw, hb = names["head"].get_weights()
    if hw.shape != (c, 1):
        raise _bad_model(keras_model, f"a head kernel of shape {hw.shape} (expected {(c, 1)})")

    def f32(a):
        return np.ascontiguousarray(a, np.float32)

    film_spec = _film_spec(keras_model, names, n, c, n_knobs, f32) if n_knobs else None

    return TcnSpec(
        input_w=f32(wi.reshape(c)), input_b=f32(bi), dilations=dilations, conv_w=f32(conv_w),
        conv_b=f32(conv_b), skip_w=f32(skip_w), skip_b=f32(skip_b), res_w=f32(res_w),
        res_b=f32(res_b), head_w=f32(hw.reshape(c)), head_b=float(hb[0]),
        skip_tanh="skip_tanh" in names,
        receptive_field=int(1 + (k - 1) * int(dilations.sum())), film=film_spec)


def _film_spec(keras_model, names, n, c, n_knobs, f32) -> FilmSpec:
    """The FiLM generator of a conditioned TCN (layers checked by name and shape)."""
    def weights(name, shape):
        if name not in names:
            raise _bad_model(keras_model, f"no layer named {name!r}")
        w, b = names[name].get_weights()
        if w.shape != shape:
            raise _bad_model(keras_model, f"a {name} kernel of shape {w.shape} (expected {shape})")
        return w, b

    h0, h1 = FILM_HIDDEN
    w0, b0 = weights("film_hidden_0", (n_knobs, h0))
    w1, b1 = weights("film_hidden_1", (h0, h1))
    wa = np.zeros((h1, n, 4, c), np.float32)
    ba = np.zeros((n, 4, c), np.float32)
    for i in range(n):
        for part in ("filter", "gate"):
            if names[f"{part}_{i}"].get_config().get("activation") != "linear":
                raise _bad_model(keras_model, f"a conditioned {part}_{i} with an activation")
        for q, part in enumerate(("filter_scale", "gate_scale", "filter_shift", "gate_shift")):
            wa[:, i, q], ba[i, q] = weights(f"film_{part}_{i}", (h1, c))
    return FilmSpec(w0=f32(w0), b0=f32(b0), w1=f32(w1), b1=f32(b1),
                    wa=f32(wa.reshape(h1, n * 4 * c)), ba=f32(ba.reshape(n * 4 * c)))
