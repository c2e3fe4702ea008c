"""The clips both listening tests play: where they come from, how they are cut and written.

The A/B test (:mod:`fxlab.listening.trials`) and the ABX test (:mod:`fxlab.listening.abx`) cut
their clips the same way, so an ABX session's A and B are the bytes of the model's A/B trial.

- :func:`trial_sources`    the files a run's clips are cut from (target, dry, each model's output)
- :func:`render_offsets`   where each model's rendered output starts in its split
- :func:`read_mono`        a run's float mono WAV, refused with the fix when missing or wrong
- :func:`write_clip`       cut a pair where the target is loudest, fade, loudness-match, write
- :func:`fade`             the raised-cosine fade in and out of every clip
- :func:`up_to_date`       whether a manifest already describes these sources, its clips intact
- :func:`sha256_file`      a file's SHA-256
- :func:`describe_source`  "the target", "the unprocessed input" or "model X's output"
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from fxlab.audio import STUDY_SR, loudest_start
from fxlab.errors import AudioFileError, ChannelError, NonFiniteError, SampleRateError, problem
from fxlab.listening.loudness import match_gains
from fxlab.util import atomic_path

__all__ = ["FADE_S", "describe_source", "fade", "read_mono", "render_offsets", "sha256_file",
           "trial_sources", "up_to_date", "write_clip"]

#: Raised-cosine fade in and out on every clip (s), the same on both sides.
FADE_S = 0.02


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_mono(path: Path, *, what: str) -> np.ndarray:
    if not path.is_file():
        raise AudioFileError(problem(
            path, found="no such file", expected=what,
            fix="run the steps before the listening test (01_synthesize_data, 03_evaluate) "
                "for this run folder, or point run_dir at a run that has them",
        ))
    try:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioFileError(problem(
            path, found=f"an unreadable file ({err})", expected="a WAV file",
            fix="re-create it by rerunning the step that wrote it",
        )) from err
    if sr != STUDY_SR:
        raise SampleRateError(problem(
            path, found=f"sample rate {sr} Hz", expected=f"{STUDY_SR} Hz",
            fix=f"resample it to {STUDY_SR} Hz (fxlab.audio.resample) or rerun the step that wrote it",
        ))
    if x.shape[1] != 1:
        raise ChannelError(problem(
            path, found=f"{x.shape[1]} channels", expected="mono",
            fix="write the file as mono (average the channels)",
        ))
    x = x[:, 0]
    if not np.all(np.isfinite(x)):
        raise NonFiniteError(problem(
            path, found="NaN or infinite samples", expected="finite samples in [-1, 1]",
            fix="rerun the step that wrote it; a model that outputs NaN needs retraining",
        ))
    return x


def render_offsets(run_dir: Path, models: Sequence[str], splits: Sequence[str]) -> dict:
    """Where each model's rendered output starts in its split, in samples.

    The evaluation renders some models on an excerpt and records its start in ``metrics.json``
    (``models.<name>.splits.<split>.start_s``); without that entry an output starts at sample 0.
    """
    offsets = {s: {m: 0 for m in models} for s in splits}
    path = run_dir / "metrics.json"
    if not path.is_file():
        return offsets
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return offsets
    for m in models:
        entry = (doc.get("models") or {}).get(m) or {}
        for s in splits:
            start_s = ((entry.get("splits") or {}).get(s) or {}).get("start_s")
            if isinstance(start_s, int | float) and start_s > 0:
                offsets[s][m] = int(round(start_s * STUDY_SR))
    return offsets


def trial_sources(run_dir: Path, splits: Sequence[str], models: Sequence[str]) -> dict:
    """``{split: {"target" | "dry" | model: path}}``: the files the clips are cut from; refuse a
    missing one."""
    sources: dict[str, dict[str, Path]] = {}
    for s in splits:
        sources[s] = {
            "target": run_dir / "data" / s / "wet.wav",
            "dry": run_dir / "data" / s / "dry.wav",
            **{m: run_dir / "rendered" / m / f"{s}.wav" for m in models},
        }
    for s, paths in sources.items():
        for name, p in paths.items():
            if not p.is_file():
                read_mono(p, what=f"{describe_source(name)} of split {s} (float32 mono {STUDY_SR} Hz WAV)")
    return sources


def fade(x: np.ndarray, sr: int) -> np.ndarray:
    n = min(int(FADE_S * sr), x.size // 2)
    y = x.astype(np.float64).copy()
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
    return y


def write_clip(root: Path, split: str, group: str, target: np.ndarray, other_signal: np.ndarray,
                *, lo: int, hi: int, off: int, n_clip: int, lufs: float, files: dict,
                other: str) -> tuple[dict[str, str], dict]:
    """Cut one pair (the target and ``other``) where the target is loudest within ``[lo, hi)``,
    fade, loudness-match and write it; record each file's hash in ``files``. Returns the
    files' paths under ``root`` and the clip's record."""
    sr = STUDY_SR
    n_win = min(n_clip, hi - lo)
    start = lo + loudest_start(target[lo:hi], n_win, hop=sr // 4)
    cut = {"target": fade(target[start:start + n_win], sr),
           other: fade(other_signal[start - off:start - off + n_win], sr)}
    lufs_in, gains = match_gains(cut, sr=sr, target_lufs=lufs)
    rel = {"target": f"trials/{split}/{group}.target.wav", other: f"trials/{split}/{group}.wav"}
    for k, v in cut.items():
        y = np.clip(v * 10 ** (gains[k] / 20), -1.0, 1.0).astype(np.float32)
        with atomic_path(root / rel[k], suffix=".wav") as tmp:
            sf.write(tmp, y, sr, subtype="PCM_16")
        files[rel[k]] = sha256_file(root / rel[k])
    record = {"start_s": start / sr, "seconds": n_win / sr,
              "loudness_in": {k: (None if np.isinf(v) else round(v, 3)) for k, v in lufs_in.items()},
              "gain_db": {k: round(g, 3) for k, g in gains.items()}}
    return rel, record


def up_to_date(manifest_path: Path, options: dict, source_hashes: dict, *, files_key: str = "files") -> bool:
    """Whether the manifest (``trials.json``, the ABX's ``session.json``) already describes these
    sources and options, every clip it lists under ``files_key`` intact."""
    if not manifest_path.is_file():
        return False
    root = manifest_path.parent
    try:
        old = json.loads(manifest_path.read_text())
        return bool(old.get("options") == options and old.get("sources") == source_hashes
                    and all(sha256_file(root / f) == h for f, h in old[files_key].items()))
    except (OSError, ValueError, KeyError, TypeError):
        return False  # unreadable or stale: rebuild


def describe_source(name: str) -> str:
    return "the target" if name == "target" else (
        "the unprocessed input" if name == "dry" else f"model {name}'s output")
