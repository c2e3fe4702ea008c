"""The training loop: :func:`train` one model into its folder (resumable), :func:`train_many`."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fxlab import __version__, progress
from fxlab.audio import STUDY_SR, level_profile
from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.models import build_model, initialise, model_config
from fxlab.training.config import RESUMABLE_CHANGES, TrainConfig, learning_rate_at
from fxlab.training.data import resolve_data, segments, window_batches
from fxlab.training.trained import TrainedModel, load_trained
from fxlab.util import atomic_path, atomic_write

__all__ = ["train", "train_many"]




def _set_determinism(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(int(seed))
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        tf.get_logger().setLevel("ERROR")  # no retracing notices in reports: shapes vary by design


class _TimeBudget:
    def __init__(self, seconds: float, spent: float, start: float = 0.0):
        self.seconds, self.spent, self.t0 = seconds, spent, time.perf_counter()
        self.start = start  # where this budget began on the run's clock (a resumed run's new budget)

    def fraction(self) -> float:
        """Fraction of this budget spent (0 without a budget)."""
        if not self.seconds:
            return 0.0
        return min(max((self.elapsed() - self.start) / (self.seconds - self.start), 0.0), 1.0)

    def elapsed(self) -> float:
        return self.spent + time.perf_counter() - self.t0

    def exceeded(self) -> bool:
        return bool(self.seconds) and self.elapsed() >= self.seconds


def _budget_callback(budget: _TimeBudget):
    import keras

    class StopAtBudget(keras.callbacks.Callback):
        """Stops at the end of the step that passes the budget; counts the steps of each epoch."""

        steps = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if budget.exceeded():
                self.model.stop_training = True

    return StopAtBudget()


def _live_line_callback(model_name: str):
    """On a terminal, one line rewritten in place while an epoch runs (step, loss); nothing
    in a pipe or a log file, where the per-epoch line is what is kept (Keras's own progress bar
    writes a 30 kB line of terminal codes per epoch there)."""
    import sys

    import keras

    if not getattr(sys.stdout, "isatty", lambda: False)():
        return None

    class LiveLine(keras.callbacks.Callback):
        last = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if now - self.last > 0.25:
                self.last = now
                loss = (logs or {}).get("loss")
                sys.stdout.write(f"\r{model_name} epoch {self.epoch}: step {batch + 1}"
                                 + (f", loss {float(loss):.4g}" if loss is not None else "")
                                 + "\x1b[K")
                sys.stdout.flush()

        def on_epoch_end(self, epoch, logs=None):
            sys.stdout.write("\r\x1b[K")
            sys.stdout.flush()

    return LiveLine()


def _write_history(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in keys})


def _save_checkpoint(path: Path, model, optimizer, state: dict) -> None:
    arrays = {f"w{i}": np.asarray(v) for i, v in enumerate(model.get_weights())}
    arrays.update({f"o{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)})
    arrays["state"] = np.array(json.dumps(state))
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def _load_checkpoint(path: Path, model, optimizer) -> dict:
    with np.load(path, allow_pickle=False) as z:
        n_w = sum(1 for k in z.files if k.startswith("w"))
        model.set_weights([z[f"w{i}"] for i in range(n_w)])
        optimizer.build(model.trainable_variables)
        for i, v in enumerate(optimizer.variables):
            v.assign(z[f"o{i}"])
        return json.loads(str(z["state"]))


def _evaluate_split(proc, loss, dry, wet, config: TrainConfig, window: int | None):
    """Validation loss and plain ESR on one split of the model in training, run by ``proc`` (its
    :class:`fxlab.runtime.Processor`, made once per epoch): the same exact fast path evaluation
    uses."""
    from fxlab.losses import esr
    from fxlab.runtime import render

    if window is None and dry.ndim == 2:  # knob columns: a zero state at each setting
        from fxlab.conditioning import render_inputs

        n = dry.shape[0] if not config.val_max_samples else min(dry.shape[0], config.val_max_samples)
        p = render_inputs(proc, dry[:n]).reshape(1, n, 1)
        t = wet[None, :n, None]
    elif window is None:
        n = dry.size if not config.val_max_samples else min(dry.size, config.val_max_samples)
        p = render(proc, dry[:n]).reshape(1, n, 1)
        t = wet[None, :n, None]
    else:
        idx = np.unique(np.linspace(0, dry.size - 1, min(config.val_windows, dry.size)).astype(np.int64))
        p = proc.at(dry, idx)[:, None]
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


def _knob_declarations(data, n_knobs: int, knobs) -> list[dict]:
    """The knobs a conditioned network is trained on, as ``Knob.to_dict()`` in input order."""
    from fxlab.effects import Knob

    if knobs is None:
        knobs = list(getattr(data, "knobs", ()) or ())
        if not knobs:
            knobs = [Knob(f"knob_{i}", 0.0, 1.0, 0.5) for i in range(n_knobs)]
    out = [k.to_dict() if isinstance(k, Knob) else Knob.from_dict(k).to_dict() for k in knobs]
    if len(out) != n_knobs:
        raise ParameterError(problem(
            "knobs", found=f"{len(out)} knob declarations for inputs with {n_knobs} knob columns",
            expected="one declaration per knob column, in column order",
            fix="pass knobs=effect.knobs[...] matching the data's columns"))
    return out


def train(data, out_dir, config: TrainConfig | None = None, *, resume: bool = False, verbose: int = 1,
          log: Callable[[str], Any] = print, knobs=None, sr: int | None = None,
          **overrides) -> TrainedModel:
    """Train one model into the model folder ``out_dir``; returns it loaded (best epoch).

    Parameters
    ----------
    data : path, fxlab.datasets.Dataset or dict
        A data set folder, an opened Dataset, or ``{"train": (dry, wet), "val1": (dry, wet), ...}``
        (float32 mono arrays of equal length per split). Every split other than ``train`` is a
        validation split tracked per epoch. A knob-conditioned data set (or ``[n, 1 + K]`` inputs:
        audio, then knob values normalised to [0, 1]) trains a conditioned network: ``config``'s
        model must be built with ``knobs=K`` (``model_params={"knobs": K}``); validation restarts
        from a zero state at every change of setting (:func:`fxlab.conditioning.render_inputs`).
    out_dir : path
        The model folder (created). Without ``resume`` an earlier run's files in it are replaced.
    config : TrainConfig or None
        Settings; ``overrides`` (TrainConfig field names) are applied on top.
    resume : bool
        Continue from ``out_dir/checkpoint/last.npz`` if present (the same settings are required,
        except ``epochs``, ``max_minutes`` and ``patience``); start afresh if there is none.
    verbose : {0, 1, 2}
        0 silent; 1 one line per epoch, and on a terminal a live line while an epoch runs;
        2 one line per epoch. (Keras's own progress bar is never shown: in a pipe or a log it is
        a long line of terminal codes.)
    log : callable
        Where the per-epoch lines go.
    knobs : sequence of fxlab.effects.Knob, optional
        The knobs of the knob columns, in order (default: the data set's ``knobs``, else
        ``knob_0`` ... in [0, 1]); saved in ``config.json`` as ``knobs`` so players know the ranges.
    sr : int or None
        Sample rate of arrays given in a dict, Hz (a data set folder knows its own); saved in
        ``config.json`` (exports and the runtime play the model at it).

    ``config.json`` also records ``input_range``: the training input's peak and 50 ms level
    percentiles, dBFS (:func:`fxlab.audio.level_profile`): louder input is extrapolation, and
    the model's processor warns once when fed it.

    Returns
    -------
    TrainedModel
        The best epoch's model, with ``summary`` (``best_epoch``, ``best_val``, ``epochs_run``,
        ``stopped``, ``wall_s``...) and the folder's files written.
    """
    config = (config or TrainConfig()).replace(**overrides) if overrides else (config or TrainConfig())
    data = _opened(data)
    splits, data_sr, data_hash = resolve_data(data)
    sr = data_sr or sr  # a data set knows its rate; arrays are at ``sr`` (the study's if None)
    val_names = [s for s in splits if s != "train"]
    monitor = _monitor_column(config, val_names)
    mcfg = model_config(config.model, **config.model_params)
    window = mcfg["window"] if config.family == "windowed" else None
    dry, wet = splits["train"]
    n_knobs = 0 if dry.ndim == 1 else dry.shape[1] - 1
    _check_knob_columns(config, mcfg, n_knobs)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "checkpoint" / "last.npz"
    full_config = _full_config(config, mcfg, monitor, sr, data_hash, dry,
                               _knob_declarations(data, n_knobs, knobs) if n_knobs else None)
    resuming = resume and ckpt.exists()
    _prepare_folder(out, config, full_config, resuming=resuming)

    model, deployed, optimizer, loss = _compiled_model(config, window, n_knobs)
    state = _start_state(ckpt, model, optimizer, config, resuming=resuming,
                         log=log if verbose else None, pair=(dry, wet))
    if state["stopped"] == "early stopping":
        if verbose:
            log(f"{config.model}: already stopped early at epoch {state['epoch']}; nothing to do")
        return load_trained(out)

    budget = _budget_for(config, state)
    callbacks = [_budget_callback(budget)] if config.max_minutes else []
    live = _live_line_callback(config.model) if verbose == 1 else None
    writer = _tensorboard_writer(out / "logs")
    n_train = (config.windows_per_epoch or dry.size) if window else None
    stopped = ""
    # a first epoch that diverges leaves no finite weights to keep: the starting ones are saved
    start = deployed.get_weights() if state["epoch"] == 0 else None
    progress.note(f"{out.name}: training {config.model} ({int(model.count_params()):,} parameters), "
                  f"epoch {state['epoch'] + 1} of at most {config.epochs}")
    for epoch in range(state["epoch"], config.epochs):
        row = _fit_epoch(model, optimizer, loss, splits, val_names, config, window, epoch,
                         n_train=n_train, budget=budget, callbacks=callbacks, live=live, deployed=deployed)
        if _diverged(row, state, config, log=log if verbose else None, keep=(deployed, start, out)):
            stopped = "diverged"
            break
        improved, stopped = _record_epoch(state, row, deployed, optimizer, out, ckpt, monitor=monitor,
                                          patience=config.patience, budget=budget, writer=writer)
        _tell_epoch(config, row, improved, out, log=log if verbose else None)
        if stopped:
            break
    else:
        stopped = "epochs done"
    _finish(out, deployed, _summary(config, state, stopped=stopped, monitor=monitor,
                                    data_hash=data_hash, param_count=int(model.count_params()),
                                 receptive_field=mcfg["receptive_field"]))
    return load_trained(out)


def _monitor_column(config: TrainConfig, val_names: list[str]) -> str:
    """The history column that picks the best epoch (``config.monitor``, else the first
    validation split's loss, else the training loss); refuse one the run will not write."""
    monitor = config.monitor or (f"{'val1' if 'val1' in val_names else val_names[0]}_loss"
                                 if val_names else "loss")
    known_cols = ["loss"] + [f"{s}_{m}" for s in val_names for m in ("loss", "esr")]
    if monitor not in known_cols:
        raise unknown_name("monitor column", monitor, known_cols)
    return monitor


def _full_config(config: TrainConfig, mcfg: dict, monitor: str, sr, data_hash: str, dry,
                 knob_decls: list[dict] | None) -> dict:
    """``config.json``: the settings, the built model's config, the software that trained it,
    the knobs (a conditioned network) and the level range of the training input."""
    import keras

    full_config = {"train": config.to_dict(), "model": mcfg, "monitor": monitor, "sr": sr,
                   "data_manifest_hash": data_hash, "fxlab_version": __version__,
                   "keras_backend": keras.backend.backend(), "keras_version": keras.__version__}
    if knob_decls:
        full_config["knobs"] = knob_decls
    # the level range the model knows (its training input's), warned about when exceeded
    levels = level_profile(dry if dry.ndim == 1 else dry[:, 0], sr=sr or STUDY_SR)
    full_config["input_range"] = {k: round(float(levels[k]), 3) for k in
                                  ("peak_dbfs", "active_p5_dbfs", "active_p95_dbfs")}
    return full_config


def _compiled_model(config: TrainConfig, window: int | None, n_knobs: int):
    """The seeded model, its optimiser and loss, compiled: ``(model, deployed, optimizer, loss)``
    (``deployed``: what is validated and saved, :func:`_deployed`)."""
    import keras

    from fxlab.losses import CompositeLoss

    _set_determinism(config.seed)
    model = build_model(config.model, **{**config.model_params, **({"odd": 0} if _is_odd(config) else {})})
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate,
                                      clipnorm=config.clipnorm or None)
    loss = CompositeLoss(config.loss, warmup=config.warmup if window is None else 0,
                         pre_emphasis=config.pre_emphasis)
    # TensorFlow: a tf.function without XLA, as every reported number was trained (XLA was slower
    # there). JAX: the step must be compiled, or each op of each step is dispatched on its own.
    jit = keras.backend.backend() == "jax" if config.jit_compile is None else config.jit_compile
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit)
    return model, _deployed(model, config, n_knobs), optimizer, loss


def _is_odd(config: TrainConfig) -> bool:
    return bool(config.model_params.get("odd"))


def _deployed(model, config: TrainConfig, n_knobs: int):
    """What is validated and saved: the trained network itself, or for an odd one (``odd=1``) the
    odd wrapper around it (:func:`fxlab.models.base.odd_wrap`, sharing its weights). An odd network
    trains its core on sign-flipped segments (:func:`fxlab.training.data.segments`) at the core's
    cost and is made odd after: measured on the ``pedal`` drive (docs/ALIASING.md), training the
    wrapper itself cost twice per step and ended 8x worse at equal time (worst setting ESR 0.078
    against 0.0097); the core trained on flipped pairs, then wrapped, scored 2-3x better than
    that core alone."""
    if not _is_odd(config):
        return model
    from fxlab.models.base import odd_wrap

    return odd_wrap(model, n_knobs)


def _start_state(ckpt: Path, model, optimizer, config: TrainConfig, *, resuming: bool,
                 log: Callable[[str], Any] | None, pair) -> dict:
    """The run's state: a fresh one (the model started in closed form from the training
    ``pair`` where it has such a start: the gray-box's EQ), or the checkpoint's (weights and
    optimiser restored); a run stopped early may go on when ``patience`` was raised."""
    state = {"epoch": 0, "best": None, "best_epoch": 0, "wait": 0, "wall_s": 0.0, "history": [],
             "stopped": ""}
    if not resuming:
        initialise(model, config.model, *pair, log=progress.note)
    if resuming:
        state = _load_checkpoint(ckpt, model, optimizer)
        if state["stopped"] == "early stopping" and state["wait"] < config.patience:
            state["stopped"] = ""
        if log is not None:
            log(f"{config.model}: resuming after epoch {state['epoch']} from {ckpt}")
    return state


def _fit_epoch(model, optimizer, loss, splits, val_names, config: TrainConfig, window: int | None,
               epoch: int, *, n_train: int | None, budget: _TimeBudget, callbacks: list,
               live, deployed) -> dict:
    """Train one epoch at its scheduled learning rate, then validate ``deployed`` (see
    :func:`_deployed`): the epoch's history row (``callbacks`` holds the budget's stopper, if any;
    ``live`` the terminal line, or None)."""
    t_epoch = time.perf_counter()
    lr = learning_rate_at(config, epoch, budget.fraction())
    optimizer.learning_rate.assign(lr)
    dry, wet = splits["train"]
    fit_args, n_samples, per_step = _epoch_data(dry, wet, config, epoch, window, n_train)
    hist = model.fit(**fit_args, epochs=epoch + 1, initial_epoch=epoch, verbose=0,
                     callbacks=callbacks + ([live] if live is not None else []))
    if callbacks and callbacks[0].model.stop_training:  # the budget cut this epoch short
        n_samples = min(n_samples, callbacks[0].steps * per_step)
    row = {"epoch": epoch + 1, "loss": float(hist.history["loss"][-1]),
           **_validate(deployed, loss, splits, val_names, config, window)}
    row.update({"lr": lr, "train_samples": n_samples,
                "epoch_s": round(time.perf_counter() - t_epoch, 3)})
    row["wall_s"] = round(budget.elapsed(), 3)
    return row


def _record_epoch(state: dict, row: dict, model, optimizer, out: Path, ckpt: Path, *, monitor: str,
                  patience: int, budget: _TimeBudget, writer) -> tuple[bool, str]:
    """Add the epoch's row to the run's state, keep the best weights, and write history,
    checkpoint and TensorBoard; returns (improved, why the run stops or "")."""
    rows = state["history"]
    rows.append(row)
    epoch = row["epoch"] - 1
    improved = _keep_best(state, row[monitor], epoch, model, out)
    state.update(epoch=epoch + 1, wall_s=budget.elapsed(), history=rows)
    stopped = ("early stopping" if state["wait"] >= patience else
               "time budget" if budget.exceeded() else "")
    state["stopped"] = stopped
    _write_history(out / "history.csv", rows)
    _save_checkpoint(ckpt, model, optimizer, state)
    _tensorboard_row(writer, row)
    return improved, stopped


def _tell_epoch(config: TrainConfig, row: dict, improved: bool, out: Path, *, log) -> None:
    """The epoch's line (:func:`_epoch_line`) to the progress log, and to ``log`` if not None."""
    line = _epoch_line(config, row, improved)
    progress.note(f"{out.name}: {line.removeprefix(config.model + ' ')}")
    if log is not None:
        log(line)


def _diverged(row: dict, state: dict, config: TrainConfig, *, log, keep) -> bool:
    """True when the epoch's training loss is not finite: the epoch is not recorded (history,
    checkpoint and the best model stay as the last finite epoch left them, so a resumed run
    starts from there) and the run stops, saying so. ``keep``: ``(deployed model, its starting
    weights or None, model folder)``; when no epoch saved a model, the starting weights are put
    back, so that the model saved is finite."""
    if np.isfinite(row["loss"]):
        return False
    deployed, start, out = keep
    if start is not None and not (out / "model.keras").exists():
        deployed.set_weights(start)
    line = (f"{config.model}: epoch {row['epoch']} diverged (training loss {row['loss']}); "
            f"stopped, keeping {f'the best epoch ({b})' if (b := state['best_epoch']) else 'its starting weights (no epoch finished)'}; a lower learning rate or "
            "gradient clipping (clipnorm) steadies it")
    progress.note(line)
    if log is not None:
        log(line)
    return True


def _finish(out: Path, model, summary: dict) -> None:
    """Write ``summary.json``, and ``model.keras`` if no epoch saved one."""
    atomic_write(out / "summary.json", json.dumps(summary, indent=2, sort_keys=True))
    if not (out / "model.keras").exists():
        model.save(out / "model.keras")


def _epoch_line(config: TrainConfig, row: dict, improved: bool) -> str:
    """The per-epoch line: losses and ESRs (validation losses left out when the loss is the ESR),
    learning rate, seconds, ``*`` when the epoch was the best so far."""
    loss_is_not_esr = config.loss.strip() != "esr"  # else the validation losses repeat the ESRs
    vals = " ".join(f"{k}={v:.3g}" for k, v in row.items()
                    if k == "loss" or k.endswith("_esr") or (k.endswith("_loss") and loss_is_not_esr))
    return (f"{config.model} epoch {row['epoch']}/{config.epochs} {vals} lr={row['lr']:.2g} "
            f"({row['epoch_s']:.1f} s){' *' if improved else ''}")


def _check_knob_columns(config: TrainConfig, mcfg: dict, n_knobs: int) -> None:
    """Refuse a model whose knob inputs do not match the data's knob columns."""
    if n_knobs != int(mcfg.get("knobs", 0) or 0):
        reads = f"{mcfg.get('knobs', 0) or 0} knob input(s)" if "knobs" in mcfg else "no knob inputs"
        raise ParameterError(problem(
            f"model {config.model!r} for data with {n_knobs} knob column(s)",
            found=f"a model that reads {reads}",
            expected=f"model_params knobs={n_knobs}" if n_knobs else "a model without knob inputs",
            fix=(f"train an lstm, gru or tcn with model_params={{'knobs': {n_knobs}}} on this conditioned data"
                 if n_knobs else "leave knobs out of model_params for unconditioned data")))


def _prepare_folder(out: Path, config: TrainConfig, full_config: dict, *, resuming: bool) -> None:
    """Check that a resumed folder was made with the same settings and data (or clear what a
    fresh run owns), then write ``config.json``."""
    if resuming:
        old = json.loads((out / "config.json").read_text())
        # a setting added to TrainConfig after the checkpoint was made reads as its default there
        defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)
                    if f.default is not dataclasses.MISSING}
        changed = sorted(k for k, v in config.to_dict().items()
                         if old["train"].get(k, defaults.get(k)) != v and k not in RESUMABLE_CHANGES)
        if changed or old.get("data_manifest_hash") != full_config["data_manifest_hash"]:
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
    atomic_write(out / "config.json", json.dumps(full_config, indent=2, sort_keys=True))


def _budget_for(config: TrainConfig, state: dict) -> _TimeBudget:
    """The time budget of this (possibly resumed) run: a resumed run that had used its budget
    gets a new one from where it stopped; an interrupted extension goes on."""
    budget = _TimeBudget(config.max_minutes * 60.0, state["wall_s"])
    if config.max_minutes and budget.exceeded():
        budget = _TimeBudget(config.max_minutes * 60.0 + state["wall_s"], state["wall_s"], state["wall_s"])
        state["budget_start"] = state["wall_s"]
    elif config.max_minutes and state.get("budget_start"):
        start = state["budget_start"]
        budget = _TimeBudget(config.max_minutes * 60.0 + start, state["wall_s"], start)
    return budget


def _epoch_data(dry, wet, config: TrainConfig, epoch: int, window: int | None,
                n_train: int | None) -> tuple[dict, int, int]:
    """Keras ``fit`` arguments of one epoch (seeded by it), the output samples it trains on, and
    the samples per optimiser step."""
    if window is None:
        x, y = segments(dry, wet, config, epoch)
        per_step = config.batch_size * (x.shape[1] - config.warmup)
        return ({"x": x, "y": y, "batch_size": config.batch_size, "shuffle": False},
                int(x.shape[0] * (x.shape[1] - config.warmup)), per_step)
    rng = np.random.default_rng([config.seed, epoch, 2])
    idx = (rng.choice(dry.size, n_train, replace=False) if n_train < dry.size
           else rng.permutation(dry.size))
    # the windows are drawn in a random order already (seeded by epoch): Keras must not shuffle
    # the batches again with Python's unseeded-on-resume `random`, or a resumed run would not
    # repeat an uninterrupted one
    return ({"x": window_batches(dry, wet, window, idx, config.batch_size), "shuffle": False},
            int(idx.size), config.batch_size)


def _validate(model, loss, splits, val_names, config: TrainConfig, window: int | None) -> dict:
    """``{<split>_loss, <split>_esr}`` of this epoch's weights on every validation split."""
    from fxlab.runtime import make_processor  # the runtime imports the model families' engines

    proc = make_processor(model)  # this epoch's weights, packed once for every split
    row = {}
    for s in val_names:
        row[f"{s}_loss"], row[f"{s}_esr"] = _evaluate_split(proc, loss, *splits[s], config, window)
    return row


def _keep_best(state: dict, value: float, epoch: int, model, out: Path) -> bool:
    """Save the model when ``value`` (the monitored number) improved; count the epochs since."""
    if state["best"] is None or value < state["best"]:
        state.update(best=value, best_epoch=epoch + 1, wait=0)
        with atomic_path(out / "model.keras", suffix=".keras") as tmp:
            model.save(tmp)
        return True
    state["wait"] += 1
    return False


def _summary(config: TrainConfig, state: dict, *, stopped: str, monitor: str, data_hash: str,
             param_count: int, receptive_field) -> dict:
    """``summary.json``: how the run ended and its best epoch's numbers."""
    rows = state["history"]
    return {
        "name": config.model, "family": config.family, "best_epoch": state["best_epoch"],
        "best_val": state["best"], "monitor": monitor, "epochs_run": state["epoch"],
        "stopped": stopped, "wall_s": round(state["wall_s"], 3), "data_manifest_hash": data_hash,
        "param_count": param_count, "fxlab_version": __version__,
        "receptive_field": receptive_field,
        "train_samples_per_epoch": rows[-1]["train_samples"] if rows else 0,
        "best": {k: v for k, v in (rows[state["best_epoch"] - 1].items() if rows else [])
                 if k.endswith(("loss", "esr"))},
    }


def _tensorboard_row(writer, row: dict) -> None:
    """One epoch's numbers into TensorBoard (TensorFlow backend; ``writer`` None otherwise)."""
    if writer is None:
        return
    import tensorflow as tf

    with writer.as_default(step=row["epoch"]):
        for k, v in row.items():
            if k != "epoch":
                tf.summary.scalar(k, v)
    writer.flush()


def train_many(data, models_dir, configs: Mapping[str, TrainConfig], *, resume: bool = False,
               verbose: int = 2, log: Callable[[str], Any] = print) -> dict[str, TrainedModel]:
    """Train each ``{folder name: TrainConfig}`` into ``models_dir/<name>/``, in order.

    The data set is read once. Prints one line per model when done (and per epoch if verbose).
    """
    data = _opened(data)
    splits, sr, digest = resolve_data(data)
    out = {}
    for name, cfg in configs.items():
        t0 = time.perf_counter()
        tm = train(_DataView(splits, sr, digest, getattr(data, "knobs", ())), Path(models_dir) / name,
                   cfg, resume=resume, verbose=verbose, log=log)
        s = tm.summary
        log(f"{name}: {tm.param_count:,} parameters, {s['epochs_run']} epoch(s) ({s['stopped']}), "
            f"best epoch {s['best_epoch']} {s['monitor']}={s['best_val']:.3g}, "
            f"{time.perf_counter() - t0:.0f} s")
        out[name] = tm
    return out


def _opened(data):
    """A data set folder opened (so its knobs are known); anything else as it is."""
    if isinstance(data, str | os.PathLike):
        from fxlab.datasets import load_dataset

        return load_dataset(data)
    return data


class _DataView:
    """Already-read splits that :func:`train` accepts like a Dataset."""

    def __init__(self, splits, sr, digest, knobs=()):
        self._splits, self.sr, self.manifest_hash, self.knobs = splits, sr, digest, tuple(knobs)
        self.split_names = tuple(splits)

    def split(self, name):
        d, w = self._splits[name]
        return argparse.Namespace(dry=d, wet=w, inputs=d)
