"""What training reads: checked splits, segments and windows, seeded per epoch.

A split is ``(inputs, wet)``: ``inputs`` the dry signal ``(n,)``, or for a knob-conditioned
network ``[n, 1 + K]`` (the audio, then the knob values normalised to [0, 1] per sample:
:attr:`fxlab.datasets.Split.inputs`). Segments of a conditioned split never straddle a change of
setting (each setting was rendered from silence, so a segment across two would ask the network
to jump between unrelated states).
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping

import numpy as np

from fxlab.audio import as_mono
from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.training.config import TrainConfig

__all__ = ["check_inputs", "resolve_data", "segments", "window_batches"]


def check_inputs(x, what: str) -> np.ndarray:
    """A mono signal ``(n,)`` or a conditioned network's input ``[n, 1 + K]``, finite."""
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 2 and a.shape[0] and 1 < a.shape[1] <= 9:
        if not np.all(np.isfinite(a)):
            raise ParameterError(problem(what, found="NaN or infinite values", expected="finite values",
                                         fix="clean the signal and the knob columns"))
        knobs = a[:, 1:]
        if knobs.min() < 0.0 or knobs.max() > 1.0:
            raise ParameterError(problem(
                what, found=f"knob columns from {knobs.min():g} to {knobs.max():g}",
                expected="knob values normalised to [0, 1] (Knob.normalise)",
                fix="build the input with fxlab.conditioning.knob_inputs"))
        return a
    return as_mono(a, name=what)


def resolve_data(data) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int | None, str]:
    """``data`` -> ({split: (inputs, wet)}, sr, data hash); see the module text for ``inputs``.

    A conditioned data set gives each split's :attr:`~fxlab.datasets.Split.inputs`; a mapping may
    give ``[n, 1 + K]`` inputs directly.
    """
    if isinstance(data, str | os.PathLike):
        from fxlab.datasets import load_dataset

        data = load_dataset(data)
    if hasattr(data, "split") and hasattr(data, "split_names"):
        splits = {}
        for name in data.split_names:
            s = data.split(name)
            splits[name] = (getattr(s, "inputs", s.dry), s.wet)
        sr, digest = int(data.sr), str(data.manifest_hash)
    elif isinstance(data, Mapping):
        splits, sr = dict(data), None
        h = hashlib.sha256()
        for name in sorted(splits):
            dry, wet = splits[name]
            h.update(name.encode())
            h.update(np.ascontiguousarray(dry, np.float32).tobytes())
            if np.ndim(dry) == 2 and np.shape(dry)[1] > 1:  # knob columns (mono hashes as before)
                h.update(str(np.shape(dry)).encode())
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
        d, w = check_inputs(dry, f"split {name!r} dry"), as_mono(wet, name=f"split {name!r} wet")
        if d.shape[0] != w.size:
            raise ParameterError(problem(f"split {name!r}", found=f"dry {d.shape[0]} and wet {w.size} samples",
                                         expected="dry and wet of the same length",
                                         fix="trim both to the shorter (fxlab.capture.pairs.load_pair does)"))
        out[name] = (d, w)
    widths = {n: (1 if d.ndim == 1 else d.shape[1]) for n, (d, _) in out.items()}
    if len(set(widths.values())) > 1:
        raise ParameterError(problem(
            "splits", found=f"inputs of different widths {widths}",
            expected="every split with the same knob columns", fix="build all splits with the same knobs"))
    return out, sr, digest


def segments(dry, wet, config: TrainConfig, epoch: int):
    """The training segments of ``epoch``: ``([N, T, C], [N, T, 1])``, ``C`` = 1 or ``1 + K``.

    Starts on a grid of ``segment`` samples at a random offset, shuffled (seeded by epoch); with
    knob columns, a segment that would straddle a change of setting is dropped. For an odd network
    (``odd=1`` in ``config.model_params``: the effect is known to be odd, ``f(-x) = -f(x)``) each
    segment's audio, dry and wet together (not the knob columns), is negated with probability 1/2,
    drawn after everything else (the segments themselves do not change): the core then learns
    both half-waves alike before it is made odd.
    """
    from fxlab.conditioning import setting_starts

    seg, n = config.segment, dry.shape[0]
    if n < seg:
        raise ParameterError(problem(
            f"training signal of {n} samples", found=f"fewer samples than segment={seg}",
            expected=f">= {seg} samples", fix="use a longer recording or a shorter segment"))
    rng = np.random.default_rng([config.seed, epoch, 1])
    offset = int(rng.integers(0, seg)) if n >= 2 * seg else int(rng.integers(0, n - seg + 1))
    starts = np.arange(offset, n - seg + 1, seg)
    bounds = setting_starts(dry)[1:] if dry.ndim == 2 else np.zeros(0, np.int64)
    if bounds.size:
        straddle = np.any((bounds[None, :] > starts[:, None]) & (bounds[None, :] < starts[:, None] + seg), axis=1)
        starts = starts[~straddle]
    starts = rng.permutation(starts)
    if config.segments_per_epoch:
        extra = rng.integers(0, n - seg + 1, max(config.segments_per_epoch - starts.size, 0))
        if bounds.size:  # move a straddling draw to start at the change it straddles
            after = np.searchsorted(bounds, extra, side="right")
            nxt = np.append(bounds, n)[after]
            extra = np.where(extra + seg > nxt, np.minimum(nxt, n - seg), extra)
        starts = np.concatenate([starts, extra])[: config.segments_per_epoch]
    idx = starts[:, None] + np.arange(seg)
    x = dry[idx]
    x, y = (x[..., None] if dry.ndim == 1 else x), wet[idx][..., None]
    if config.model_params.get("odd"):
        sign = np.where(rng.random(starts.size) < 0.5, -1.0, 1.0).astype(x.dtype)[:, None]
        x[..., 0] *= sign
        y = y * sign[..., None]
    return x, y


def window_batches(dry, wet, window: int, idx: np.ndarray, batch_size: int):
    import keras

    padded = np.concatenate([np.zeros(window - 1, np.float32), dry])

    class WindowBatches(keras.utils.PyDataset):
        def __len__(self):
            return max(1, math.ceil(idx.size / batch_size))

        def __getitem__(self, i):
            t = idx[i * batch_size:(i + 1) * batch_size]
            return padded[t[:, None] + np.arange(window)][..., None], wet[t][:, None]

    return WindowBatches(workers=1, use_multiprocessing=False)
