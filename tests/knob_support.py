"""Knob-conditioned model folders and run folders, written by hand as training writes them.

- :func:`write_conditioned_model` a model folder (``model.keras``, ``config.json`` with ``knobs``)
  of a small conditioned LSTM/GRU with perturbed weights, so the knobs change its output
- :func:`keras_with_knobs`        a conditioned Keras model run on audio and per-sample knob columns
- :func:`stream_with_moves`       stream a signal through a processor block by block, moving knobs
  before some blocks, and return the output with the smoothed knob trajectory it should have read
- :func:`add_conditioned_run`     a run folder's ``data/manifest.json`` (the effect, its
  ``conditioning`` record) and ``models/<name>``, beside what ``browser_support.make_run_dir``
  writes
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from weights_support import perturb_weights

from fxlab.effects import get_effect
from fxlab.models import build_model, config_of
from fxlab.runtime import smooth_knobs

__all__ = ["DRIVE", "TRAIN_SETTINGS", "VAL_SETTINGS", "add_conditioned_run", "keras_with_knobs",
           "stream_with_moves",
           "write_conditioned_model"]

DRIVE = {"name": "drive", "params": {"gain_db": 20.0, "tone": 0.5, "level_db": -6.0,
                                     "shape": "tanh", "oversample": 2}}
TRAIN_SETTINGS = [{"gain_db": v} for v in (0.0, 10.0, 30.0, 40.0)]
VAL_SETTINGS = [{"gain_db": 20.0}]


def keras_with_knobs(model, x, knobs):
    """The Keras model on ``[1, n, 1 + K]``: audio ``x`` (n,) beside ``knobs`` (n, K); -> (n,)."""
    inp = np.concatenate([x[:, None], np.asarray(knobs, np.float32)], axis=1)[None]
    return np.asarray(model(inp, training=False)).reshape(-1)


def stream_with_moves(proc, signal, blocks, knobs, start_values, *, sr: int):
    """``proc`` (its knobs just set to ``start_values``) over ``signal`` in ``blocks`` of
    ``(n, {knob: value} moved before the block)``; returns ``(y, trajectory)``, the trajectory being
    the normalised knob values :func:`fxlab.runtime.smooth_knobs` says the network must read."""
    start = np.array([k.normalise(v) for k, v in zip(knobs, start_values, strict=True)])
    target = start.copy()
    ys, trajs, i = [], [], 0
    for n, move in blocks:
        if move:
            proc.set_knobs(**move)
            for name, v in move.items():
                j = [k.name for k in knobs].index(name)
                target[j] = knobs[j].normalise(v)
        ys.append(proc.process(signal[i : i + n]))
        traj = smooth_knobs(start, target, n, sr=sr)
        trajs.append(traj)
        start = traj[-1]
        i += n
    assert i == signal.size
    return np.concatenate(ys), np.concatenate(trajs)


def write_conditioned_model(folder: Path, *, name: str = "lstm", units: int = 8,
                            knobs=("gain_db",), effect: str = "drive", seed: int = 0) -> Path:
    """Write a conditioned model folder as ``fxlab.training.train`` would; return it."""
    fx = get_effect(effect)
    model = perturb_weights(build_model(name, seed=seed, units=units, knobs=len(knobs)),
                            seed=seed + 1, scale=0.3)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    config = {"train": {"model": name, "seed": seed}, "model": config_of(model),
              "knobs": [fx.knob(k).to_dict() for k in knobs], "sr": 44100,
              "monitor": "val1_loss", "data_manifest_hash": "by-hand"}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    return folder


def add_conditioned_run(run_dir: Path, *, models=("lstm",)) -> Path:
    """Give ``run_dir`` a drive data set's manifest with its conditioning and conditioned models."""
    data = run_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    manifest = {"sr": 44100, "effect": DRIVE, "effect_description": "drive", "key": "by-hand",
                "recipe": {"train": {"set": "tiny"}}, "splits": {},
                "conditioning": {"knobs": [get_effect("drive").knob("gain_db").to_dict()],
                                 "train_settings": TRAIN_SETTINGS, "val_settings": VAL_SETTINGS}}
    (data / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for k, m in enumerate(models):
        write_conditioned_model(run_dir / "models" / m, name=m, seed=k)
    return run_dir
