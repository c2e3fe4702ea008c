"""A trained model loaded from its folder: :class:`TrainedModel` and :func:`load_trained`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fxlab.audio import as_mono
from fxlab.errors import ParameterError, problem
from fxlab.models import structure_of

__all__ = ["TrainedModel", "load_trained"]


class TrainedModel:
    """A trained model loaded from its folder (see :func:`load_trained`).

    Attributes: ``name`` (the folder's model name), ``family`` (``"windowed"``/``"sample"``),
    ``config`` (``config.json``: ``train`` and ``model`` dicts), ``model`` (Keras), ``param_count``,
    ``summary`` (``summary.json``), ``path``. What a caller needs to know of the network it asks
    the model (:attr:`structure`, :attr:`cell`, :attr:`knob_count`, :attr:`knobs`,
    :attr:`window`, :attr:`receptive_field`), not its name or its Keras layers.
    """

    def __init__(self, path: Path, model, config: dict, summary: dict):
        self.path = Path(path)
        self.model = model
        self.config = config
        self.summary = summary
        self.name = config["model"]["name"]
        self.family = config["model"]["family"]
        self.param_count = int(model.count_params())
        self.sr = int(config.get("sr") or 44100)
        self._processor = None

    def __repr__(self) -> str:
        return f"TrainedModel({self.name!r}, family={self.family!r}, params={self.param_count})"

    @property
    def window(self) -> int | None:
        return int(self.config["model"]["window"]) if self.family == "windowed" else None

    @property
    def structure(self) -> str:
        """``"recurrent"`` (``lstm``/``gru``, knob-conditioned or not), ``"tcn"`` or
        ``"windowed"`` (the thesis's networks): what a player must run
        (:func:`fxlab.models.structure_of` of the folder's model name)."""
        return structure_of(self.name)

    @property
    def cell(self) -> str | None:
        """The recurrent cell, ``"lstm"`` or ``"gru"`` (``config.json``'s ``model.cell``);
        ``None`` for a convolutional network."""
        return self.config["model"].get("cell")

    @property
    def knob_count(self) -> int:
        """How many knob values the network reads per sample beside the audio (0: none)."""
        k = self.config["model"].get("knobs", 0)
        return len(k) if isinstance(k, list) else int(k or 0)

    @property
    def knobs(self):
        """The knobs a conditioned network reads beside the audio, in its input order
        (:class:`fxlab.effects.Knob`): ``config.json``'s ``knobs``, else ``knob_0`` ... in
        [0, 1] (:func:`fxlab.runtime.knobs.knobs_of`, the one reader of a model's knob
        declaration); ``()`` when not conditioned. Exporters and processors ask this."""
        from fxlab.runtime.knobs import knobs_of

        return knobs_of(self, self.knob_count, None) if self.knob_count else ()

    @property
    def input_range(self) -> dict:
        """The level range of the input the model was trained on (``config.json``'s
        ``input_range``: ``peak_dbfs``, ``active_p5_dbfs``, ``active_p95_dbfs``; ``{}`` for a
        folder made before fxlab recorded it). Louder input is extrapolation: :meth:`predict` and
        :meth:`processor` warn once (:class:`fxlab.errors.LevelWarning`) when fed more than
        :data:`fxlab.runtime.streaming.LEVEL_HEADROOM_DB` above its peak."""
        return dict(self.config.get("input_range") or {})

    @property
    def receptive_field(self) -> int | None:
        """Input samples one output depends on (``None`` for recurrent networks: unbounded)."""
        return self.config["model"].get("receptive_field")

    def processor(self, *, engine: str = "auto"):
        """A block-by-block :class:`fxlab.runtime.Processor` of this model (state carried); it
        warns once when fed louder input than the model was trained on (:attr:`input_range`)."""
        from fxlab.runtime import make_processor

        proc = make_processor(self, engine=engine, sr=self.sr)
        proc.watch_level(self.input_range.get("peak_dbfs"), what=f"model {str(self.path)!r}")
        return proc

    def predict(self, x, *, max_samples: int | None = None, knobs=None) -> np.ndarray:
        """Run the model over a whole signal, offline, from a zero state: the fast exact path.

        Goes through :func:`fxlab.runtime.render` with the model's processor (made once, then
        reused): the numba kernel for LSTM/GRU networks and for the TCN, the windows in batches for
        the thesis's windowed networks. Equal to the Keras model's output within 1e-5.

        Parameters
        ----------
        x : np.ndarray [shape=(n,)]
            Dry signal, float32 in [-1, 1].
        max_samples : int or None
            Process only the first ``max_samples`` samples (windowed models cost a whole window of
            forward steps per output sample: ~450 samples/s for LSTM-160/512 on a 2-core CPU).
        knobs : dict, optional
            A conditioned network's setting, ``{knob name: value}`` in knob units (see
            :attr:`knobs`), held over the whole signal; knobs left out stay at their defaults.

        Returns
        -------
        np.ndarray [shape=(min(n, max_samples),)], float32
            Output ``t`` depends on input up to ``t`` only (windowed: zeros before the start).
        """
        from fxlab.runtime import render

        x = as_mono(x, name="predict input")
        if max_samples is not None:
            x = x[: max(int(max_samples), 1)]
        if self.knobs:  # every knob set, so no setting lingers from an earlier call
            knobs = {k.name: k.default for k in self.knobs} | dict(knobs or {})
        return render(self.offline_processor, x, knobs=knobs)

    @property
    def offline_processor(self):
        """The processor :meth:`predict` runs (made on first use, then reused: reset each call)."""
        if self._processor is None:
            self._processor = self.processor()
        return self._processor


def load_trained(model_dir) -> TrainedModel:
    """Open a model folder written by :func:`train` (``model.keras``, ``config.json``)."""
    import keras

    import fxlab.losses  # noqa: F401  (registers CompositeLoss for deserialisation)
    from fxlab.models import graybox

    graybox.layer_class()  # registers the gray-box layer for deserialisation

    p = Path(model_dir)
    for needed in ("model.keras", "config.json"):
        if not (p / needed).exists():
            raise ParameterError(problem(
                p / needed, found="no such file", expected="a model folder written by fxlab.training.train",
                fix="train the model first (notebook 02_train or `fxlab train`)"))
    config = json.loads((p / "config.json").read_text())
    summary = json.loads((p / "summary.json").read_text()) if (p / "summary.json").exists() else {}
    model = keras.models.load_model(p / "model.keras", compile=False)
    return TrainedModel(p, model, config, summary)
