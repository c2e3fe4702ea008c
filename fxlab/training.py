"""Training: the one entry point used by the notebook, the CLI and the benchmark.

- :class:`TrainConfig`    every training setting, frozen; saved as the model folder's ``config.json``
- :func:`train`           train one model on a data set into a model folder (resumable)
- :func:`train_many`      train several models (``{name: TrainConfig}``) into ``models/<name>/``
- :func:`study_configs`   the study's configs from notebook 02's flat parameters
- :func:`describe_configs`  Markdown saying what each model trains on (and how it is subsampled)
- :func:`load_trained`    open a model folder -> :class:`TrainedModel` with ``.predict(x)``
- :func:`train_on_pair`   train on a user's own dry/wet WAV pair, holding out its last part
- :func:`add_train_arguments`, :func:`run_train_command`   the ``fxlab train`` command
- :func:`read_history`, :func:`plot_history`, :func:`summary_table_html`   curves and the table

How a model is trained
----------------------
Sample-level models (``lstm``, ``gru``, ``tcn``) see segments of ``segment`` samples cut from the
training signal at a random offset each epoch, shuffled; the state starts at zero in every segment
and backpropagation runs through the whole segment (truncated BPTT at the segment length); the first
``warmup`` samples of each segment are left out of the loss. Windowed models (the thesis's) see
``(window of the last N dry samples, wet sample)`` pairs (thesis Fig. 7); the signal is preceded by
``window - 1`` zeros so every sample has a window; each epoch draws ``windows_per_epoch`` of them at
random without replacement (``0``: all of them, the thesis's epoch), shuffled.

Every epoch the model is run over each validation split (Validation 1, synthetic; Validation 2,
speech) and its loss and plain ESR go into the history as ``<split>_loss`` and ``<split>_esr``.
Sample-level models run over the whole split in one call (up to ``val_max_samples``); windowed ones
over ``val_windows`` windows evenly spaced in the split. Early stopping and the best epoch follow
``monitor`` (default ``val1_loss``: Validation 2 stays held out, so its numbers are not chosen on).
The thesis stopped after 100 epochs without improvement (``patience=100``).

Model folder (docs/ARCHITECTURE.md)::

    model.keras     the best epoch's model         config.json   TrainConfig + model config
    checkpoint/     last.npz: weights, optimizer variables, history, counters (for resume)
    history.csv     one row per epoch              summary.json  best_epoch, best_val, wall_s, ...
    logs/           TensorBoard scalars (TensorFlow backend only)

A checkpoint is written atomically after every epoch, so a run killed at any moment resumes with
``resume=True`` from the last finished epoch with the same weights, optimizer state and history;
the data of epoch ``k`` depend only on ``(seed, k)``, so a resumed run repeats an uninterrupted one
exactly. ``history.csv`` is rewritten from the checkpointed history (rather than appended by
Keras's ``CSVLogger``) so it never holds an epoch that a resume would run again.

Reproducibility: ``keras.utils.set_random_seed(seed)`` and, on TensorFlow,
``tf.config.experimental.enable_op_determinism()``; on a CPU the same seed gives the same weights.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: keep its start-up chatter out of reports

import argparse
import csv
import dataclasses
import hashlib
import json
import math
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fxlab import __version__
from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.models import MODEL_NAMES, build_model, family_of, model_config

__all__ = [
    "LR_SCHEDULES",
    "TrainConfig",
    "TrainedModel",
    "add_train_arguments",
    "describe_configs",
    "learning_rate_at",
    "load_trained",
    "plot_history",
    "read_history",
    "run_train_command",
    "study_configs",
    "summary_table_html",
    "train",
    "train_many",
    "train_on_pair",
]

LR_SCHEDULES = ("constant", "cosine", "exponential")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of one training run (frozen; ``to_dict()`` is what ``config.json`` holds).

    Attributes
    ----------
    model : str
        One of :data:`fxlab.models.MODEL_NAMES`.
    model_params : dict
        Overrides of the model's defaults (``units``, ``window``, ``layers`` ...).
    loss : str
        Loss spec, see :func:`fxlab.losses.parse_loss` (``"esr"``, ``"0.75*esr_pre+0.25*dc"``).
        Windowed models accept only ``mse``, ``esr`` and ``dc`` (no contiguous time axis).
    epochs : int >= 1
        Maximum number of epochs.
    batch_size : int >= 1
        Segments (sample-level) or windows (windowed) per step.
    learning_rate : float > 0
        Adam's initial learning rate.
    lr_schedule : {"constant", "cosine", "exponential"}
        Per-epoch schedule: cosine decays to ``lr_final`` x the initial rate at the last epoch;
        exponential multiplies by ``lr_final ** (1 / epochs)`` every epoch.
    lr_final : float in (0, 1]
        Final rate as a fraction of the initial one.
    patience : int >= 1
        Stop after this many epochs without improvement of ``monitor`` (thesis: 100).
    monitor : str
        History column the best epoch and early stopping follow ("" -> ``val1_loss`` when a
        ``val1`` split exists, else the first validation split's loss, else ``loss``).
    segment : int
        Sample-level: segment length in samples (the BPTT length), ``warmup`` included.
    warmup : int
        Sample-level: samples at the start of each segment excluded from the loss.
    segments_per_epoch : int >= 0
        Sample-level: segments drawn per epoch (0: every segment of the signal once).
    windows_per_epoch : int >= 0
        Windowed: windows drawn per epoch (0: every window, the thesis's full epoch).
    val_windows : int >= 1
        Windowed: windows (evenly spaced) per validation split and epoch.
    val_max_samples : int >= 0
        Sample-level: validate on the first so many samples of each split (0: all).
    max_minutes : float >= 0
        Training-time budget in minutes (0: none); checked after every step.
    pre_emphasis : float
        Coefficient of the ``esr_pre`` loss term.
    clipnorm : float >= 0
        Gradient-norm clipping for Adam (0: none).
    seed : int
        Seeds the weights, the data order and the windows drawn.
    """

    model: str = "lstm"
    model_params: dict = field(default_factory=dict)
    loss: str = "esr"
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 5e-3
    lr_schedule: str = "cosine"
    lr_final: float = 0.02
    patience: int = 100
    monitor: str = ""
    segment: int = 512
    warmup: int = 64
    segments_per_epoch: int = 0
    windows_per_epoch: int = 0
    val_windows: int = 2048
    val_max_samples: int = 0
    max_minutes: float = 0.0
    pre_emphasis: float = 0.85
    clipnorm: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if self.model not in MODEL_NAMES:
            raise unknown_name("model", self.model, MODEL_NAMES)
        object.__setattr__(self, "model_params", dict(self.model_params))
        model_config(self.model, **self.model_params)  # checks the overrides
        ints = {"epochs": 1, "batch_size": 1, "patience": 1, "segment": 2, "warmup": 0,
                "segments_per_epoch": 0, "windows_per_epoch": 0, "val_windows": 1,
                "val_max_samples": 0}
        for name, lo in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
                raise ParameterError(problem(f"training parameter {name}={v!r}", found=repr(v),
                                             expected=f"an integer >= {lo}", fix=f"set {name} to an integer >= {lo}"))
            object.__setattr__(self, name, int(v))
        floats = {"learning_rate": (0.0, False), "max_minutes": (0.0, True), "clipnorm": (0.0, True)}
        for name, (lo, closed) in floats.items():
            v = getattr(self, name)
            if not isinstance(v, int | float) or not math.isfinite(v) or v < lo or (v == lo and not closed):
                raise ParameterError(problem(f"training parameter {name}={v!r}", found=repr(v),
                                             expected=f"a number {'>=' if closed else '>'} {lo}",
                                             fix=f"set {name} to such a number"))
        if not 0.0 < self.lr_final <= 1.0:
            raise ParameterError(problem(f"lr_final={self.lr_final!r}", found=repr(self.lr_final),
                                         expected="a fraction in (0, 1]", fix="use e.g. 0.05"))
        if self.lr_schedule not in LR_SCHEDULES:
            raise unknown_name("learning-rate schedule", self.lr_schedule, LR_SCHEDULES)
        if self.warmup >= self.segment:
            raise ParameterError(problem(
                f"warmup={self.warmup} with segment={self.segment}", found="a warm-up as long as the segment",
                expected="warmup < segment (samples)", fix="shorten the warm-up or lengthen the segment"))
        from fxlab.losses import SEQUENCE_LOSSES, CompositeLoss, parse_loss

        terms = parse_loss(self.loss)
        if self.family == "windowed" and set(terms) & set(SEQUENCE_LOSSES):
            raise ParameterError(problem(
                f"loss {self.loss!r} for windowed model {self.model!r}",
                found=f"{sorted(set(terms) & set(SEQUENCE_LOSSES))}, which need contiguous time",
                expected="mse, esr or dc (a windowed model predicts isolated samples)",
                fix="use loss='mse' (the thesis's) for windowed models"))
        if "mrstft" in terms:
            need = max(CompositeLoss(terms).fft_sizes)
            if self.segment - self.warmup < need:
                raise ParameterError(problem(
                    f"segment={self.segment} - warmup={self.warmup} with the mrstft loss",
                    found=f"{self.segment - self.warmup} samples per segment in the loss",
                    expected=f">= {need} (the largest FFT size)", fix=f"set segment >= {need + self.warmup}"))

    @property
    def family(self) -> str:
        return family_of(self.model)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` (checked again)."""
        return dataclasses.replace(self, **changes)


# Settings a resumed run may change without invalidating the checkpoint.
_RESUMABLE_CHANGES = {"epochs", "max_minutes", "patience"}


def learning_rate_at(config: TrainConfig, epoch: int) -> float:
    """Learning rate of ``epoch`` (0-based) under ``config``'s schedule."""
    lr0, n = config.learning_rate, max(config.epochs - 1, 1)
    if config.lr_schedule == "constant":
        return lr0
    if config.lr_schedule == "exponential":
        return lr0 * config.lr_final ** (min(epoch, n) / n)
    frac = 0.5 * (1.0 + math.cos(math.pi * min(epoch, n) / n))
    return lr0 * (config.lr_final + (1.0 - config.lr_final) * frac)


# ---------------------------------------------------------------------------------------- data


def _check_signal(x, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim != 1 or a.size == 0:
        raise ParameterError(problem(what, found=f"an array of shape {a.shape}",
                                     expected="a non-empty mono signal of shape (n,)",
                                     fix="pass one channel as a 1-D float array"))
    if not np.all(np.isfinite(a)):
        raise ParameterError(problem(what, found="NaN or infinite samples", expected="finite samples",
                                     fix="clean the signal (fxlab.audio.load_pair checks files)"))
    return a


def _resolve_data(data) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int | None, str]:
    """``data`` -> ({split: (dry, wet)}, sr, data hash)."""
    if isinstance(data, str | os.PathLike):
        from fxlab.datasets import load_dataset

        data = load_dataset(data)
    if hasattr(data, "split") and hasattr(data, "split_names"):
        splits = {}
        for name in data.split_names:
            s = data.split(name)
            splits[name] = (s.dry, s.wet)
        sr, digest = int(data.sr), str(data.manifest_hash)
    elif isinstance(data, Mapping):
        splits, sr = dict(data), None
        h = hashlib.sha256()
        for name in sorted(splits):
            dry, wet = splits[name]
            h.update(name.encode())
            h.update(np.ascontiguousarray(dry, np.float32).tobytes())
            h.update(np.ascontiguousarray(wet, np.float32).tobytes())
        digest = h.hexdigest()
    else:
        raise ParameterError(problem(f"data={type(data).__name__}", found=type(data).__name__,
                                     expected="a data set folder, a fxlab Dataset or {split: (dry, wet)}",
                                     fix="pass run_dir / 'data' or fxlab.datasets.load_dataset(...)"))
    if "train" not in splits:
        raise unknown_name("split", "train", list(splits))
    out = {}
    for name, (dry, wet) in splits.items():
        d, w = _check_signal(dry, f"split {name!r} dry"), _check_signal(wet, f"split {name!r} wet")
        if d.size != w.size:
            raise ParameterError(problem(f"split {name!r}", found=f"dry {d.size} and wet {w.size} samples",
                                         expected="dry and wet of the same length",
                                         fix="trim both to the shorter (fxlab.audio.load_pair does)"))
        out[name] = (d, w)
    return out, sr, digest


def _segments(dry, wet, config: TrainConfig, epoch: int):
    seg = config.segment
    if dry.size < seg:
        raise ParameterError(problem(
            f"training signal of {dry.size} samples", found=f"fewer samples than segment={seg}",
            expected=f">= {seg} samples", fix="use a longer recording or a shorter segment"))
    rng = np.random.default_rng([config.seed, epoch, 1])
    offset = int(rng.integers(0, seg)) if dry.size >= 2 * seg else int(rng.integers(0, dry.size - seg + 1))
    starts = np.arange(offset, dry.size - seg + 1, seg)
    starts = rng.permutation(starts)
    if config.segments_per_epoch:
        extra = rng.integers(0, dry.size - seg + 1, max(config.segments_per_epoch - starts.size, 0))
        starts = np.concatenate([starts, extra])[: config.segments_per_epoch]
    idx = starts[:, None] + np.arange(seg)
    return dry[idx][..., None], wet[idx][..., None]


def _window_batches(dry, wet, window: int, idx: np.ndarray, batch_size: int):
    import keras

    padded = np.concatenate([np.zeros(window - 1, np.float32), dry])

    class WindowBatches(keras.utils.PyDataset):
        def __len__(self):
            return max(1, math.ceil(idx.size / batch_size))

        def __getitem__(self, i):
            t = idx[i * batch_size:(i + 1) * batch_size]
            return padded[t[:, None] + np.arange(window)][..., None], wet[t][:, None]

    return WindowBatches(workers=1, use_multiprocessing=False)


def _windows(x: np.ndarray, t: np.ndarray, window: int) -> np.ndarray:
    padded = np.concatenate([np.zeros(window - 1, np.float32), x])
    return padded[t[:, None] + np.arange(window)][..., None]


def _predict_windows(model, x: np.ndarray, t: np.ndarray, window: int, batch_size: int) -> np.ndarray:
    """Outputs at times ``t`` of a windowed model, in batches of one fixed shape (the last one
    padded) so the compiled predict function is traced once."""
    out = np.empty(t.size, np.float32)
    for i in range(0, t.size, batch_size):
        tb = t[i:i + batch_size]
        full = np.concatenate([tb, np.full(batch_size - tb.size, tb[-1])]) if tb.size < batch_size else tb
        out[i:i + tb.size] = np.asarray(model.predict_on_batch(_windows(x, full, window))).reshape(-1)[: tb.size]
    return out


# ------------------------------------------------------------------------------- the model


class TrainedModel:
    """A trained model loaded from its folder (see :func:`load_trained`).

    Attributes: ``name`` (the folder's model name), ``family`` (``"windowed"``/``"sample"``),
    ``config`` (``config.json``: ``train`` and ``model`` dicts), ``model`` (Keras), ``param_count``,
    ``summary`` (``summary.json``), ``path``.
    """

    def __init__(self, path: Path, model, config: dict, summary: dict):
        self.path = Path(path)
        self.model = model
        self.config = config
        self.summary = summary
        self.name = config["model"]["name"]
        self.family = config["model"]["family"]
        self.param_count = int(model.count_params())

    def __repr__(self) -> str:
        return f"TrainedModel({self.name!r}, family={self.family!r}, params={self.param_count})"

    @property
    def window(self) -> int | None:
        return int(self.config["model"]["window"]) if self.family == "windowed" else None

    def predict(self, x, *, max_samples: int | None = None, batch_size: int = 512) -> np.ndarray:
        """Run the model over a whole signal, offline.

        Parameters
        ----------
        x : np.ndarray [shape=(n,)]
            Dry signal, float32 in [-1, 1].
        max_samples : int or None
            Process only the first ``max_samples`` samples (windowed models cost a whole window of
            recurrent steps per output sample: ~450 samples/s for LSTM-160/512 on a 2-core CPU).
        batch_size : int
            Windows per call (windowed models only).

        Returns
        -------
        np.ndarray [shape=(min(n, max_samples),)], float32
            Sample-level models: one call over the whole sequence, state carried from zero.
            Windowed: output ``t`` from the window ending at ``t`` (zeros before the start).
        """
        x = _check_signal(x, "predict input")
        if max_samples is not None:
            x = x[: max(int(max_samples), 1)]
        if self.family == "sample":
            return np.asarray(self.model.predict_on_batch(x[None, :, None]), np.float32).reshape(-1)
        return _predict_windows(self.model, x, np.arange(x.size), self.window, min(batch_size, x.size))


def load_trained(model_dir) -> TrainedModel:
    """Open a model folder written by :func:`train` (``model.keras``, ``config.json``)."""
    import keras

    import fxlab.losses  # noqa: F401  (registers CompositeLoss for deserialisation)

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


# --------------------------------------------------------------------------------- training


def _set_determinism(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(int(seed))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        tf.get_logger().setLevel("ERROR")  # no retracing notices in reports: shapes vary by design


class _TimeBudget:
    def __init__(self, seconds: float, spent: float):
        self.seconds, self.spent, self.t0 = seconds, spent, time.perf_counter()

    def elapsed(self) -> float:
        return self.spent + time.perf_counter() - self.t0

    def exceeded(self) -> bool:
        return bool(self.seconds) and self.elapsed() >= self.seconds


def _budget_callback(budget: _TimeBudget):
    import keras

    class StopAtBudget(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if budget.exceeded():
                self.model.stop_training = True

    return StopAtBudget()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_history(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in keys})
    os.replace(tmp, path)


def _save_checkpoint(path: Path, model, optimizer, state: dict) -> None:
    arrays = {f"w{i}": np.asarray(v) for i, v in enumerate(model.get_weights())}
    arrays.update({f"o{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)})
    arrays["state"] = np.array(json.dumps(state))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, model, optimizer) -> dict:
    with np.load(path, allow_pickle=False) as z:
        n_w = sum(1 for k in z.files if k.startswith("w"))
        model.set_weights([z[f"w{i}"] for i in range(n_w)])
        optimizer.build(model.trainable_variables)
        for i, v in enumerate(optimizer.variables):
            v.assign(z[f"o{i}"])
        return json.loads(str(z["state"]))


def _evaluate_split(model, loss, dry, wet, config: TrainConfig, window: int | None):
    from fxlab.losses import esr

    if window is None:
        n = dry.size if not config.val_max_samples else min(dry.size, config.val_max_samples)
        p = model.predict_on_batch(dry[None, :n, None])
        t = wet[None, :n, None]
    else:
        idx = np.unique(np.linspace(0, dry.size - 1, min(config.val_windows, dry.size)).astype(np.int64))
        p = _predict_windows(model, dry, idx, window, min(512, idx.size))[:, None]
        t = wet[idx][:, None]
    lv = float(loss(t, p))
    if window is None and config.warmup:
        t, p = t[:, config.warmup:], np.asarray(p)[:, config.warmup:]
    return lv, float(esr(t, p))


def _tensorboard_writer(log_dir: Path):
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    return tf.summary.create_file_writer(str(log_dir))


_OWNED = ("model.keras", "config.json", "history.csv", "summary.json", "checkpoint", "logs")


def train(data, out_dir, config: TrainConfig | None = None, *, resume: bool = False, verbose: int = 1,
          log: Callable[[str], Any] = print, **overrides) -> TrainedModel:
    """Train one model into the model folder ``out_dir``; returns it loaded (best epoch).

    Parameters
    ----------
    data : path, fxlab.datasets.Dataset or dict
        A data set folder, an opened Dataset, or ``{"train": (dry, wet), "val1": (dry, wet), ...}``
        (float32 mono arrays of equal length per split). Every split other than ``train`` is a
        validation split tracked per epoch.
    out_dir : path
        The model folder (created). Without ``resume`` an earlier run's files in it are replaced.
    config : TrainConfig or None
        Settings; ``overrides`` (TrainConfig field names) are applied on top.
    resume : bool
        Continue from ``out_dir/checkpoint/last.npz`` if present (the same settings are required,
        except ``epochs``, ``max_minutes`` and ``patience``); start afresh if there is none.
    verbose : {0, 1, 2}
        0 silent; 1 Keras's progress bar and one line per epoch; 2 one line per epoch.
    log : callable
        Where the per-epoch lines go.

    Returns
    -------
    TrainedModel
        The best epoch's model, with ``summary`` (``best_epoch``, ``best_val``, ``epochs_run``,
        ``stopped``, ``wall_s``...) and the folder's files written.
    """
    import keras

    from fxlab.losses import CompositeLoss

    config = (config or TrainConfig()).replace(**overrides) if overrides else (config or TrainConfig())
    splits, sr, data_hash = _resolve_data(data)
    val_names = [s for s in splits if s != "train"]
    monitor = config.monitor or (f"{'val1' if 'val1' in val_names else val_names[0]}_loss"
                                 if val_names else "loss")
    known_cols = ["loss"] + [f"{s}_{m}" for s in val_names for m in ("loss", "esr")]
    if monitor not in known_cols:
        raise unknown_name("monitor column", monitor, known_cols)
    mcfg = model_config(config.model, **config.model_params)
    window = mcfg["window"] if config.family == "windowed" else None
    dry, wet = splits["train"]

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint" / "last.npz"
    full_config = {"train": config.to_dict(), "model": mcfg, "monitor": monitor, "sr": sr,
                   "data_manifest_hash": data_hash, "fxlab_version": __version__,
                   "keras_backend": keras.backend.backend(), "keras_version": keras.__version__}
    resuming = resume and ckpt.exists()
    if resuming:
        old = json.loads((out / "config.json").read_text())
        changed = sorted(k for k, v in config.to_dict().items()
                         if old["train"].get(k) != v and k not in _RESUMABLE_CHANGES)
        if changed or old.get("data_manifest_hash") != data_hash:
            what = changed or ["the training data"]
            raise ParameterError(problem(
                out, found=f"a checkpoint made with other settings ({', '.join(what)})",
                expected="the settings the checkpoint was made with (only epochs, max_minutes and "
                         "patience may change on resume)",
                fix="resume with the same settings, or train afresh without --resume"))
    else:
        for name in _OWNED:
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    _atomic_write(out / "config.json", json.dumps(full_config, indent=2, sort_keys=True))

    _set_determinism(config.seed)
    model = build_model(config.model, **config.model_params)
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate,
                                      clipnorm=config.clipnorm or None)
    loss = CompositeLoss(config.loss, warmup=config.warmup if window is None else 0,
                         pre_emphasis=config.pre_emphasis)
    model.compile(optimizer=optimizer, loss=loss, jit_compile=False)
    state = {"epoch": 0, "best": None, "best_epoch": 0, "wait": 0, "wall_s": 0.0, "history": [],
             "stopped": ""}
    if resuming:
        state = _load_checkpoint(ckpt, model, optimizer)
        if state["stopped"] == "early stopping" and state["wait"] < config.patience:
            state["stopped"] = ""
        if verbose:
            log(f"{config.model}: resuming after epoch {state['epoch']} from {ckpt}")
    if state["stopped"] == "early stopping":
        if verbose:
            log(f"{config.model}: already stopped early at epoch {state['epoch']}; nothing to do")
        return load_trained(out)

    budget = _TimeBudget(config.max_minutes * 60.0, state["wall_s"])
    if config.max_minutes and budget.exceeded():  # resuming a run that used its budget: a new one
        budget = _TimeBudget(config.max_minutes * 60.0 + state["wall_s"], state["wall_s"])
    callbacks = [_budget_callback(budget)] if config.max_minutes else []
    writer = _tensorboard_writer(out / "logs")
    rows = state["history"]
    n_train = (config.windows_per_epoch or dry.size) if window else None
    stopped = ""
    for epoch in range(state["epoch"], config.epochs):
        t_epoch = time.perf_counter()
        lr = learning_rate_at(config, epoch)
        optimizer.learning_rate.assign(lr)
        if window is None:
            x, y = _segments(dry, wet, config, epoch)
            n_samples = int(x.shape[0] * (x.shape[1] - config.warmup))
            fit_args = {"x": x, "y": y, "batch_size": config.batch_size, "shuffle": False}
        else:
            rng = np.random.default_rng([config.seed, epoch, 2])
            idx = (rng.choice(dry.size, n_train, replace=False) if n_train < dry.size
                   else rng.permutation(dry.size))
            n_samples = int(idx.size)
            fit_args = {"x": _window_batches(dry, wet, window, idx, config.batch_size)}
        hist = model.fit(**fit_args, epochs=epoch + 1, initial_epoch=epoch,
                         verbose=1 if verbose == 1 else 0, callbacks=callbacks)
        row = {"epoch": epoch + 1, "loss": float(hist.history["loss"][-1])}
        for s in val_names:
            row[f"{s}_loss"], row[f"{s}_esr"] = _evaluate_split(model, loss, *splits[s], config, window)
        row.update({"lr": lr, "train_samples": n_samples,
                    "epoch_s": round(time.perf_counter() - t_epoch, 3)})
        row["wall_s"] = round(budget.elapsed(), 3)
        rows.append(row)
        value = row[monitor]
        improved = state["best"] is None or value < state["best"]
        if improved:
            state.update(best=value, best_epoch=epoch + 1, wait=0)
            tmp = out / "model.tmp.keras"
            model.save(tmp)
            os.replace(tmp, out / "model.keras")
        else:
            state["wait"] += 1
        state.update(epoch=epoch + 1, wall_s=budget.elapsed(), history=rows)
        if state["wait"] >= config.patience:
            stopped = "early stopping"
        elif budget.exceeded():
            stopped = "time budget"
        state["stopped"] = stopped
        _write_history(out / "history.csv", rows)
        _save_checkpoint(ckpt, model, optimizer, state)
        if writer is not None:
            import tensorflow as tf

            with writer.as_default(step=epoch + 1):
                for k, v in row.items():
                    if k != "epoch":
                        tf.summary.scalar(k, v)
            writer.flush()
        if verbose:
            vals = " ".join(f"{k}={v:.3g}" for k, v in row.items() if k.endswith(("loss", "esr")))
            log(f"{config.model} epoch {epoch + 1}/{config.epochs} {vals} lr={lr:.2g} "
                f"({row['epoch_s']:.1f} s){' *' if improved else ''}")
        if stopped:
            break
    else:
        stopped = "epochs done"
    summary = {
        "name": config.model, "family": config.family, "best_epoch": state["best_epoch"],
        "best_val": state["best"], "monitor": monitor, "epochs_run": state["epoch"],
        "stopped": stopped, "wall_s": round(state["wall_s"], 3), "data_manifest_hash": data_hash,
        "param_count": int(model.count_params()), "fxlab_version": __version__,
        "receptive_field": mcfg["receptive_field"], "train_samples_per_epoch": rows[-1]["train_samples"] if rows else 0,
        "best": {k: v for k, v in (rows[state["best_epoch"] - 1].items() if rows else [])
                 if k.endswith(("loss", "esr"))},
    }
    _atomic_write(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True))
    if not (out / "model.keras").exists():
        model.save(out / "model.keras")
    return load_trained(out)


def train_many(data, models_dir, configs: Mapping[str, TrainConfig], *, resume: bool = False,
               verbose: int = 2, log: Callable[[str], Any] = print) -> dict[str, TrainedModel]:
    """Train each ``{folder name: TrainConfig}`` into ``models_dir/<name>/``, in order.

    The data set is read once. Prints one line per model when done (and per epoch if verbose).
    """
    splits, sr, digest = _resolve_data(data)
    out = {}
    for name, cfg in configs.items():
        t0 = time.perf_counter()
        tm = train(_DataView(splits, sr, digest), Path(models_dir) / name, cfg, resume=resume,
                   verbose=verbose, log=log)
        s = tm.summary
        log(f"{name}: {tm.param_count:,} parameters, {s['epochs_run']} epoch(s) ({s['stopped']}), "
            f"best epoch {s['best_epoch']} {s['monitor']}={s['best_val']:.3g}, "
            f"{time.perf_counter() - t0:.0f} s")
        out[name] = tm
    return out


class _DataView:
    """Already-read splits that :func:`train` accepts like a Dataset."""

    def __init__(self, splits, sr, digest):
        self._splits, self.sr, self.manifest_hash = splits, sr, digest
        self.split_names = tuple(splits)

    def split(self, name):
        d, w = self._splits[name]
        return argparse.Namespace(dry=d, wet=w)


def study_configs(*, models: str, seed: int = 0, loss: str = "esr", sample_units: int = 32,
                  sample_layers: int = 1, tcn_channels: int = 16, tcn_layers: int = 10,
                  sample_epochs: int = 30, sample_minutes: float = 0.0, segment: int = 512,
                  warmup: int = 64, sample_batch: int = 32, sample_lr: float = 5e-3,
                  sample_patience: int = 20, thesis_units: int = 0, thesis_window: int = 0,
                  cnn_filters: int = 0, cnn_kernel: int = 0, thesis_epochs: int = 450,
                  windows_per_epoch: int = 0, thesis_batch: int = 64, thesis_lr: float = 1e-3,
                  thesis_minutes: float = 0.0, thesis_patience: int = 100, val_windows: int = 2048,
                  val_max_samples: int = 0) -> dict[str, TrainConfig]:
    """The study's :class:`TrainConfig` per model, from notebook 02's flat parameters.

    ``models`` is a comma-separated list of :data:`fxlab.models.MODEL_NAMES`. ``sample_*`` apply to
    ``lstm``/``gru``/``tcn`` (``sample_units``/``sample_layers`` to the recurrent ones,
    ``tcn_*`` to ``tcn``), ``thesis_*`` to the windowed models. ``thesis_units``,
    ``thesis_window``, ``cnn_filters``, ``cnn_kernel`` of 0 keep the thesis's size per model.
    Windowed models train with the thesis's MSE; sample-level ones with ``loss``.
    """
    names = [n.strip() for n in str(models).split(",") if n.strip()]
    if not names:
        raise ParameterError(problem(f"models={models!r}", found="no model names",
                                     expected="a comma-separated list of model names",
                                     fix=f"use some of {', '.join(MODEL_NAMES)}"))
    configs = {}
    for name in names:
        if name not in MODEL_NAMES:
            raise unknown_name("model", name, MODEL_NAMES)
        if family_of(name) == "sample":
            params = ({"channels": tcn_channels, "layers": tcn_layers} if name == "tcn"
                      else {"units": sample_units, "layers": sample_layers})
            configs[name] = TrainConfig(
                model=name, model_params=params, loss=loss, epochs=sample_epochs,
                batch_size=sample_batch, learning_rate=sample_lr, lr_schedule="cosine",
                patience=sample_patience, segment=segment, warmup=warmup,
                max_minutes=sample_minutes, val_max_samples=val_max_samples, seed=seed)
        else:
            params = {}
            if thesis_window:
                params["window"] = thesis_window
            if name == "thesis_cnn":
                params.update({k: v for k, v in (("filters", cnn_filters), ("kernel", cnn_kernel)) if v})
            elif thesis_units:
                params["units"] = thesis_units
            configs[name] = TrainConfig(
                model=name, model_params=params, loss="mse", epochs=thesis_epochs,
                batch_size=thesis_batch, learning_rate=thesis_lr, lr_schedule="constant",
                patience=thesis_patience, windows_per_epoch=windows_per_epoch,
                val_windows=val_windows, max_minutes=thesis_minutes, seed=seed)
    return configs


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
            sub = ("every window (the thesis's epoch)" if n >= train_samples else
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


# ------------------------------------------------------------------------------ curves, table


def read_history(model_dir) -> list[dict[str, float]]:
    """``history.csv`` of a model folder as a list of rows (floats)."""
    p = Path(model_dir) / "history.csv"
    if not p.exists():
        raise ParameterError(problem(p, found="no such file", expected="a trained model folder",
                                     fix="train the model first"))
    with p.open() as f:
        return [{k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(f)]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def plot_history(model_dirs, *, metric: str = "loss"):
    """Training and validation curves, one panel per model (like the thesis's Figs. 10, 14, 16, 18).

    Each panel plots, against the epoch, each validation split's ``<split>_<metric>``
    (``metric``: ``"loss"`` -- then with the training loss -- or ``"esr"``) on a log scale, with the
    best epoch marked. Returns a matplotlib Figure (closed in pyplot: display it to show it).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    dirs = [Path(d) for d in model_dirs]
    cols = min(3, max(len(dirs), 1))
    rows_n = math.ceil(len(dirs) / cols) if dirs else 1
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.6 * cols, 3.3 * rows_n), squeeze=False)
    plt.close(fig)  # shown once, where the caller displays it
    for ax in axes.ravel()[len(dirs):]:
        ax.set_visible(False)
    for ax, d in zip(axes.ravel(), dirs, strict=False):
        hist = read_history(d)
        summary = json.loads((d / "summary.json").read_text()) if (d / "summary.json").exists() else {}
        ep = [r["epoch"] for r in hist]
        marker = "." if len(ep) < 30 else None
        if metric == "loss":
            ax.plot(ep, [r["loss"] for r in hist], label="training loss", color="tab:blue", marker=marker)
        styles = {"val1": ("tab:red", "Validation 1 (synthetic)"), "val2": ("tab:green", "Validation 2 (speech)")}
        for key in hist[0] if hist else []:
            if key.endswith(f"_{metric}") and key != "loss":
                split = key[: -len(metric) - 1]
                color, label = styles.get(split, (None, split))
                ax.plot(ep, [r.get(key, np.nan) for r in hist], label=f"{label} {metric}", color=color,
                        marker=marker)
        if summary.get("best_epoch"):
            ax.axvline(summary["best_epoch"], color="0.6", ls="--", lw=0.8, label="best epoch")
        ax.set_yscale("log")
        ax.set_title(f"{d.name} ({summary.get('param_count', '?')} parameters)", fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(ep) == 1:
            ax.set_xlim(ep[0] - 0.5, ep[0] + 0.5)
        loss_name = cfg.get("train", {}).get("loss", "") if (cfg := _read_json(d / "config.json")) else ""
        ax.set_ylabel(f"loss ({loss_name})" if metric == "loss" else "ESR")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def summary_table_html(model_dirs) -> str:
    """An HTML table: model, family, parameters, epochs, stop reason, best epoch, wall time,
    training samples per epoch and the best epoch's validation loss and ESR per split."""
    import html

    rows = []
    for d in [Path(x) for x in model_dirs]:
        s = json.loads((d / "summary.json").read_text())
        rows.append((d.name, s))
    splits = sorted({k.rsplit("_", 1)[0] for _, s in rows for k in s.get("best", {}) if k != "loss"})
    head = ["model", "family", "parameters", "epochs", "stopped", "best epoch", "wall time (s)",
            "samples / epoch", "training loss"] + [f"{sp} {m}" for sp in splits for m in ("loss", "ESR")]
    out = ["<table class='fxlab-table'>", "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)
           + "</tr></thead>", "<tbody>"]
    for name, s in rows:
        best = s.get("best", {})
        cells = [name, s["family"], f"{s['param_count']:,}", s["epochs_run"], s["stopped"],
                 s["best_epoch"], f"{s['wall_s']:.0f}", f"{s['train_samples_per_epoch']:,}",
                 f"{best.get('loss', float('nan')):.3g}"]
        cells += [f"{best.get(f'{sp}_{m}', float('nan')):.3g}" for sp in splits for m in ("loss", "esr")]
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


# ------------------------------------------------------------------------ a user's own pair


def train_on_pair(dry_path, wet_path, out_dir, *, model: str = "lstm", holdout: float = 0.2,
                  epochs: int = 100, minutes: float = 0.0, resume: bool = False, sr: int | None = None,
                  verbose: int = 1, log: Callable[[str], Any] = print, **overrides) -> TrainedModel:
    """Train ``model`` on a user's dry/wet WAV pair, holding out its last ``holdout`` for validation.

    The pair is read and checked by :func:`fxlab.audio.load_pair` (sample rates, channels,
    lengths, alignment: its errors are raised as they are). ``holdout`` in (0, 0.5] is the
    fraction at the end kept as the ``val`` split; ``minutes`` > 0 caps training time; ``overrides``
    are :class:`TrainConfig` fields (``model_params={"units": 16}``, ``loss=...``).
    """
    from fxlab.audio import load_pair

    if not 0.0 < float(holdout) <= 0.5:
        raise ParameterError(problem(f"holdout={holdout!r}", found=repr(holdout),
                                     expected="a fraction in (0, 0.5]", fix="use e.g. 0.2"))
    pair = load_pair(dry_path, wet_path, sr=sr)
    dry, wet = np.asarray(pair.dry, np.float32), np.asarray(pair.wet, np.float32)
    cut = int(round(dry.size * (1.0 - float(holdout))))
    segment = overrides.get("segment", TrainConfig.segment)
    if family_of(model) == "sample" and min(cut, dry.size - cut) < segment:
        raise ParameterError(problem(
            f"{dry_path} ({dry.size} samples)", found=f"{cut} training / {dry.size - cut} held-out samples",
            expected=f"at least segment={segment} samples in each part",
            fix="use a longer recording or pass a shorter segment"))
    config = TrainConfig(model=model, epochs=epochs, max_minutes=minutes,
                         loss=overrides.pop("loss", "esr" if family_of(model) == "sample" else "mse"),
                         **overrides)
    data = {"train": (dry[:cut], wet[:cut]), "val": (dry[cut:], wet[cut:])}
    tm = train(data, out_dir, config, resume=resume, verbose=verbose, log=log)
    info = {"dry": str(dry_path), "wet": str(wet_path), "sr": int(getattr(pair, "sr", sr or 0)),
            "holdout": float(holdout), "train_samples": cut, "val_samples": int(dry.size - cut)}
    _atomic_write(Path(out_dir) / "pair.json", json.dumps(info, indent=2))
    return tm


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``fxlab train`` options to ``parser`` (see :func:`run_train_command`)."""
    parser.add_argument("--dry", required=True, help="dry (input) WAV file")
    parser.add_argument("--wet", required=True, help="wet (effect output) WAV file, same length and rate")
    parser.add_argument("--model", default="lstm", help=f"model name: {', '.join(MODEL_NAMES)} (default lstm)")
    parser.add_argument("--out", required=True, help="model folder to write (e.g. models/mine)")
    parser.add_argument("--epochs", type=int, default=100, help="maximum epochs (default 100)")
    parser.add_argument("--minutes", type=float, default=0.0, help="training-time budget in minutes (0: none)")
    parser.add_argument("--resume", action="store_true", help="continue from the folder's checkpoint")
    parser.add_argument("--units", type=int, default=None, help="recurrent units (lstm/gru, thesis RNNs)")
    parser.add_argument("--layers", type=int, default=None, help="recurrent layers (lstm/gru) or TCN layers")
    parser.add_argument("--loss", default=None, help="loss spec, e.g. 'esr' or '0.75*esr_pre+0.25*dc'")
    parser.add_argument("--lr", type=float, default=None, help="initial learning rate")
    parser.add_argument("--batch-size", type=int, default=None, help="segments or windows per step")
    parser.add_argument("--segment", type=int, default=None, help="segment length in samples (sample-level)")
    parser.add_argument("--holdout", type=float, default=0.2, help="fraction at the end held out (default 0.2)")
    parser.add_argument("--sr", type=int, default=None, help="sample rate to resample both files to")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


def run_train_command(args: argparse.Namespace) -> int:
    """Run ``fxlab train`` from parsed arguments; prints the summary; returns the exit status 0."""
    model_params = {k: v for k, v in (("units", args.units), ("layers", args.layers)) if v is not None}
    overrides = {k: v for k, v in (("loss", args.loss), ("learning_rate", args.lr),
                                   ("batch_size", args.batch_size), ("segment", args.segment))
                 if v is not None}
    tm = train_on_pair(args.dry, args.wet, args.out, model=args.model, holdout=args.holdout,
                       epochs=args.epochs, minutes=args.minutes, resume=args.resume, sr=args.sr,
                       model_params=model_params, seed=args.seed, **overrides)
    s = tm.summary
    best = s.get("best", {})
    print(f"trained {tm.name} ({tm.param_count} parameters) into {args.out}: {s['epochs_run']} epochs "
          f"({s['stopped']}), best epoch {s['best_epoch']}, held-out ESR {best.get('val_esr', float('nan')):.3g}, "
          f"{s['wall_s']:.0f} s")
    return 0
