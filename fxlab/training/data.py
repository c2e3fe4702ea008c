"""What training reads: checked splits, segments and windows, seeded per epoch."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Mapping

import numpy as np

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.training.config import TrainConfig

__all__ = ["check_signal", "resolve_data", "segments", "window_batches"]




def check_signal(x, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim != 1 or a.size == 0:
        raise ParameterError(problem(what, found=f"an array of shape {a.shape}",
                                     expected="a non-empty mono signal of shape (n,)",
                                     fix="pass one channel as a 1-D float array"))
    if not np.all(np.isfinite(a)):
        raise ParameterError(problem(what, found="NaN or infinite samples", expected="finite samples",
                                     fix="clean the signal (fxlab.pairs.load_pair checks files)"))
    return a


def resolve_data(data) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int | None, str]:
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
        d, w = check_signal(dry, f"split {name!r} dry"), check_signal(wet, f"split {name!r} wet")
        if d.size != w.size:
            raise ParameterError(problem(f"split {name!r}", found=f"dry {d.size} and wet {w.size} samples",
                                         expected="dry and wet of the same length",
                                         fix="trim both to the shorter (fxlab.pairs.load_pair does)"))
        out[name] = (d, w)
    return out, sr, digest


def segments(dry, wet, config: TrainConfig, epoch: int):
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
