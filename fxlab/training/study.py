"""The study's training: notebook 02's frozen config and what each model trains on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.models import MODEL_NAMES, family_of, model_config
from fxlab.training.config import TrainConfig
from fxlab.util import NotebookConfig

__all__ = ["GRAYBOX_SEGMENT", "GRAYBOX_WARMUP", "SYMMETRIES", "StudyConfig", "check_odd", "conditioned_configs",
           "describe_configs", "train_study"]

#: The gray-box emulator's training segment and warm-up, samples (0.37 s and 0.09 s at 44.1 kHz).
GRAYBOX_SEGMENT, GRAYBOX_WARMUP = 16384, 4096

#: ``symmetry``: ``odd`` builds the ``lstm``, ``gru`` and ``tcn`` odd-symmetric (``odd=1``,
#: :mod:`fxlab.models.base`) for an effect known to be odd, ``f(-x) = -f(x)``.
SYMMETRIES = ("none", "odd")


@dataclass(frozen=True)
class StudyConfig(NotebookConfig):
    """Notebook 02's parameters, frozen: field names equal the notebook's parameter names.

    Built in one line from the notebook's ``parameters`` cell::

        config = training.StudyConfig.from_parameters(globals())

    ``models`` is a comma-separated list of :data:`fxlab.models.MODEL_NAMES`. ``sample_*`` apply to
    ``lstm``/``gru``/``tcn`` (``sample_units``/``sample_layers`` to the recurrent ones,
    ``tcn_*`` to ``tcn``), ``graybox_*`` to the gray-box emulator (:meth:`_graybox_config`),
    ``thesis_*`` to the windowed models. ``thesis_units``,
    ``thesis_window``, ``cnn_filters``, ``cnn_kernel`` of 0 keep the thesis's size per model.
    ``symmetry = "odd"`` makes the ``lstm``, ``gru`` and ``tcn`` odd-symmetric by construction
    (``odd=1``: ``y = (g(x) - g(-x)) / 2``; no even harmonic, no DC; twice the compute when it
    plays): the core ``g`` trains on sign-flipped segments at its own cost and is saved wrapped.
    Only for an effect known to be odd, such as a symmetric clipper (:func:`check_odd` refuses
    another). Flipped segments alone left the 2nd harmonic where it was (docs/ALIASING.md).
    Windowed models train with the thesis's MSE; sample-level ones with ``loss``.
    :meth:`train_configs` gives each model's :class:`TrainConfig` (every value checked there).
    The ``tcn`` has no state, so an output sample near the start of a segment sees zeros where
    its receptive field reaches back before the segment -- inputs it never meets when it runs over
    a whole signal. Its warm-up is therefore at least ``receptive_field - 1`` samples (the loss
    sees only outputs with their whole context) and its segment at least twice that. Trained on
    512-sample segments with a 64-sample warm-up, a 2047-sample TCN fitted the training loss
    tenfold better than it did the validation splits.

    The defaults are the notebook's own (``fxlab.pipeline.notebook_parameters("02_train")``);
    from Python: ``StudyConfig.from_parameters(notebook_parameters("02_train"), models="lstm")``.
    """

    run_dir: str
    seed: int
    models: str
    loss: str
    sample_units: int
    sample_layers: int
    tcn_channels: int
    tcn_layers: int
    sample_epochs: int
    sample_minutes: float
    segment: int
    warmup: int
    sample_batch: int
    sample_lr: float
    sample_clipnorm: float
    sample_patience: int
    symmetry: str
    graybox_shaper: int
    graybox_epochs: int
    graybox_lr: float
    thesis_units: int
    thesis_window: int
    cnn_filters: int
    cnn_kernel: int
    thesis_epochs: int
    windows_per_epoch: int
    thesis_batch: int
    thesis_lr: float
    thesis_minutes: float
    thesis_patience: int
    val_windows: int
    val_max_samples: int
    verbose: int
    resume: bool

    def __post_init__(self):
        if self.symmetry not in SYMMETRIES:
            raise unknown_name("symmetry", self.symmetry, SYMMETRIES)
        self.train_configs()  # checks every value now, with the model it belongs to

    @property
    def models_dir(self) -> Path:
        """``run_dir/models``: one folder per model."""
        return Path(self.run_dir) / "models"

    @property
    def model_names(self) -> list[str]:
        """The models to train, in order."""
        return list(self.train_configs())

    def train_configs(self) -> dict[str, TrainConfig]:
        """The :class:`TrainConfig` of each model, ``{name: config}`` in the order given."""
        names = [n.strip() for n in str(self.models).split(",") if n.strip()]
        if not names:
            raise ParameterError(problem(f"models={self.models!r}", found="no model names",
                                         expected="a comma-separated list of model names",
                                         fix=f"use some of {', '.join(MODEL_NAMES)}"))
        configs = {}
        for name in names:
            if name not in MODEL_NAMES:
                raise unknown_name("model", name, MODEL_NAMES)
            if name == "graybox":
                configs[name] = self._graybox_config()
            elif family_of(name) == "sample":
                params = ({"channels": self.tcn_channels, "layers": self.tcn_layers} if name == "tcn"
                          else {"units": self.sample_units, "layers": self.sample_layers})
                if self.symmetry == "odd":
                    params["odd"] = 1
                seg, wu = self.segment, self.warmup
                if name == "tcn":
                    wu = max(self.warmup, model_config(name, **params)["receptive_field"] - 1)
                    seg = max(self.segment, 2 * wu)
                configs[name] = TrainConfig(
                    model=name, model_params=params, loss=self.loss, epochs=self.sample_epochs,
                    batch_size=self.sample_batch, learning_rate=self.sample_lr,
                    # a budget: the cosine spans it (else a 1000-epoch cosine never decays)
                    lr_schedule="cosine_budget" if self.sample_minutes else "cosine",
                    clipnorm=self.sample_clipnorm, patience=self.sample_patience, segment=seg, warmup=wu,
                    max_minutes=self.sample_minutes, val_max_samples=self.val_max_samples, seed=self.seed)
            else:
                params = {}
                if self.thesis_window:
                    params["window"] = self.thesis_window
                if name == "thesis_cnn":
                    params.update({k: v for k, v in (("filters", self.cnn_filters), ("kernel", self.cnn_kernel)) if v})
                elif self.thesis_units:
                    params["units"] = self.thesis_units
                configs[name] = TrainConfig(
                    model=name, model_params=params, loss="mse", epochs=self.thesis_epochs,
                    batch_size=self.thesis_batch, learning_rate=self.thesis_lr, lr_schedule="constant",
                    patience=self.thesis_patience, windows_per_epoch=self.windows_per_epoch,
                    val_windows=self.val_windows, max_minutes=self.thesis_minutes, seed=self.seed)
        return configs

    def _graybox_config(self) -> TrainConfig:
        """The gray-box emulator's training: its EQ fitted in closed form first (in
        :func:`fxlab.training.train`), then Adam on segments of :data:`GRAYBOX_SEGMENT` samples
        -- long, as frequency sampling wants, with :data:`GRAYBOX_WARMUP` samples of warm-up
        (a filter's response to what came before the segment dies away in it) -- ``loss`` and
        ``sample_clipnorm`` as the networks have them."""
        return TrainConfig(
            model="graybox", model_params={"shaper": self.graybox_shaper}, loss=self.loss,
            epochs=self.graybox_epochs, batch_size=4, learning_rate=self.graybox_lr,
            lr_schedule="cosine", clipnorm=self.sample_clipnorm, patience=self.graybox_epochs,
            segment=GRAYBOX_SEGMENT, warmup=GRAYBOX_WARMUP, val_max_samples=self.val_max_samples,
            seed=self.seed)



def train_study(data, config: StudyConfig, *, log: Callable[[str], Any] = print) -> dict:
    """Train every model of notebook 02's ``config`` into ``config.models_dir`` (resumable).

    ``data`` is the run's data set (folder or :class:`fxlab.datasets.Dataset`). Returns
    ``{name: TrainedModel}``; see :func:`fxlab.training.train_many`.
    """
    from fxlab.training.loop import _opened, train_many

    data = _opened(data)
    if config.symmetry == "odd" and getattr(data, "effect", None) is not None:
        check_odd(data.effect, sr=data.sr)
    configs = conditioned_configs(config.train_configs(), len(getattr(data, "knobs", ()) or ()))
    return train_many(data, config.models_dir, configs, resume=config.resume,
                      verbose=config.verbose, log=log)


def check_odd(effect, *, sr: int) -> None:
    """Refuse ``symmetry = "odd"`` for an effect that is not odd-symmetric: a second of seeded
    noise at -6 dBFS peak through the effect (at each of its knobs' ends), and negated; ``f(-x)``
    must be ``-f(x)`` within 1e-4 of the output's peak (fxlab's asymmetric drive misses by 46 %)."""
    import numpy as np

    x = np.random.default_rng(0).uniform(-0.5, 0.5, int(sr)).astype(np.float32)
    ends = [{}] + [{k.name: v} for k in getattr(effect, "knobs", ()) for v in (k.low, k.high)]
    for setting in ends:
        fx = effect.with_knobs(**setting) if setting else effect
        y, y_neg = np.asarray(fx(x, sr), np.float64), np.asarray(fx(-x, sr), np.float64)
        miss = float(np.max(np.abs(y + y_neg))) / max(float(np.max(np.abs(y))), 1e-12)
        if miss > 1e-4:
            where = ", ".join(f"{k}={v:g}" for k, v in setting.items()) or "its base setting"
            raise ParameterError(problem(
                f"symmetry='odd' with effect {effect.describe()}", found=f"f(-x) differs from -f(x) by "
                f"{miss:.2g} of the output's peak at {where}", expected="an odd-symmetric effect (a symmetric "
                "clipper, a linear filter)", fix="set symmetry = 'none' (an odd network cannot make this "
                "effect's even harmonics)"))


def conditioned_configs(configs: Mapping[str, TrainConfig], n_knobs: int) -> dict[str, TrainConfig]:
    """Each config with ``knobs=n_knobs`` in its model parameters (a conditioned data set's).

    Raises a ParameterError naming the models that cannot read knob values (the thesis's
    windowed networks), with the fix.
    """
    if not n_knobs:
        return dict(configs)
    cannot = [n for n, c in configs.items() if "knobs" not in model_config(c.model)]
    if cannot:
        able = [m for m in MODEL_NAMES if "knobs" in model_config(m)]
        raise ParameterError(problem(
            f"models {', '.join(cannot)} on a data set conditioned on {n_knobs} knob(s)",
            found="networks without knob inputs", expected=f"models that read knobs: {', '.join(able)}",
            fix=f"train models={','.join(able)} on this data set (notebook 02's models parameter)"))
    return {n: c.replace(model_params={**c.model_params, "knobs": n_knobs}) for n, c in configs.items()}


def describe_configs(configs: Mapping[str, TrainConfig], *, train_samples: int, sr: int = 44100) -> str:
    """Markdown: what each model will be trained on, saying how windowed epochs are subsampled.

    ``train_samples`` is the length of the training split (samples), so the text can say how many
    of the thesis's windows (one per training sample) an epoch draws.
    """
    lines = []
    for name, c in configs.items():
        mc = model_config(c.model, **c.model_params)
        size = ", ".join(f"{k}={v}" for k, v in mc.items() if k not in ("name", "family", "cell", "receptive_field"))
        budget = f", at most {c.max_minutes:g} min" if c.max_minutes else ""
        if c.family == "windowed":
            n = c.windows_per_epoch or train_samples
            sub = ("every window (a full pass)" if n >= train_samples else
                   f"**{n:,} of the {train_samples:,} windows** ({100 * n / train_samples:.2g} %), drawn anew each epoch")
            lines.append(f"- `{name}` ({size}): loss {c.loss}, up to {c.epochs} epochs of {sub}, batch "
                         f"{c.batch_size}, Adam {c.learning_rate:g}{budget}; validated on {c.val_windows:,} "
                         f"evenly spaced windows per split.")
        else:
            rf = mc["receptive_field"]
            lines.append(f"- `{name}` ({size}{f', receptive field {rf} samples = {1000 * rf / sr:.1f} ms' if rf else ''}): "
                         f"loss {c.loss}, up to {c.epochs} epochs of {train_samples // c.segment:,} segments of "
                         f"{c.segment} samples ({c.warmup} warm-up), batch {c.batch_size}, Adam {c.learning_rate:g} "
                         f"{c.lr_schedule}{budget}.")
    return "\n".join(lines)
