"""Audio files in and out, resampling, levels and signal checks.

All signals are ``np.float32`` in linear full scale (1.0 = 0 dBFS), mono ``(n,)`` or, where
stated, ``(channels, n)`` with time on the last axis. The study runs at :data:`STUDY_SR` Hz.

A user's dry/wet recording pair is read, checked and aligned by :mod:`fxlab.capture.pairs`.

Functions and classes
---------------------
read_wav          read an audio file (soundfile) -> (x, sr), checked rate and channels
write_wav         write float32 WAV (creates parent folders)
resample          high-quality resampling (soxr, "VHQ")
check_signal      raise on NaN/inf, silence or clipping; return the peak in dBFS
as_mono           an array as a checked float32 mono signal (shape, finite), for models
peak_dbfs         peak level in dBFS
loudest_start     start of the loudest excerpt of a given length
level_profile     peak and short-term (50 ms) levels: the level range a signal spends its time at

Constants
---------
STUDY_SR, SILENCE_DB, CLIP_LEVEL, CLIP_RUN
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path

import numpy as np

from fxlab.errors import (
    AudioFileError,
    ChannelError,
    ClippingError,
    NonFiniteError,
    ParameterError,
    SampleRateError,
    SilenceError,
    problem,
)
from fxlab.util import check_sr

__all__ = [
    "STUDY_SR",
    "SILENCE_DB",
    "CLIP_LEVEL",
    "CLIP_RUN",
    "read_wav",
    "write_wav",
    "resample",
    "peak_dbfs",
    "loudest_start",
    "check_signal",
    "as_mono",
    "level_profile",
]

STUDY_SR = 44100
"""The study's sample rate, Hz (the thesis's, section 3.3)."""

SILENCE_DB = -60.0
"""A signal whose peak is below this level (dBFS) counts as silent."""

CLIP_LEVEL = 0.999
"""A sample at or above this magnitude (linear full scale) is at full scale."""

CLIP_RUN = 3
"""This many consecutive full-scale samples count as clipping (one such sample can be a peak)."""


# --------------------------------------------------------------------------------------------
# files


def read_wav(
    path: str | os.PathLike, *, sr: int | None = None, mono: bool | str | int = True
) -> tuple[np.ndarray, int]:
    """Read an audio file (WAV, FLAC, AIFF, OGG: whatever libsndfile reads) as float32.

    Parameters
    ----------
    path : str or path-like
        The file.
    sr : int > 0 or None
        Expected sample rate, Hz. ``None`` accepts any rate; otherwise a file at another rate
        raises :class:`~fxlab.errors.SampleRateError` (nothing is resampled behind your back).
    mono : True, False, "mix" or int
        ``True``: the file must have one channel (else :class:`~fxlab.errors.ChannelError`);
        ``"mix"``: average all channels; an int: take that channel (0 = left);
        ``False``: keep every channel.

    Returns
    -------
    x : np.ndarray [shape=(n,) or (channels, n) when mono=False, dtype=float32]
        Samples in linear full scale.
    sr : int
        The file's sample rate, Hz.

    Raises
    ------
    AudioFileError
        Missing, unreadable or not audio.
    SampleRateError, ChannelError
        As described above.
    """
    import soundfile as sf

    label = os.fspath(path)
    if sr is not None:
        sr = check_sr(sr)
    if not os.path.isfile(label):
        raise AudioFileError(problem(
            label, found="no such file" if not os.path.exists(label) else "a folder, not a file",
            expected="an audio file (WAV, FLAC, AIFF)",
            fix="check the path (relative paths start from the current folder "
                f"{os.getcwd()})",
        ))
    try:
        data, file_sr = sf.read(label, dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError / RuntimeError / TypeError
        raise AudioFileError(problem(
            label, found=f"a file soundfile cannot read as audio ({exc})",
            expected="an audio file (WAV, FLAC, AIFF) that libsndfile can read",
            fix="convert it to WAV (e.g. export it again from the audio editor) and retry",
        )) from exc
    file_sr = int(file_sr)
    if sr is not None and file_sr != sr:
        raise SampleRateError(problem(
            label, found=f"sample rate {file_sr} Hz", expected=f"{sr} Hz",
            fix=f"resample it with fxlab.audio.resample(x, {file_sr}, {sr}) (or re-export at "
                f"{sr} Hz), or pass sr={file_sr} / sr=None to accept the file's rate",
        ))
    channels = data.shape[1]
    if mono is True:
        if channels != 1:
            raise ChannelError(problem(
                label, found=f"{channels} channels", expected="a mono file (1 channel)",
                fix='mix it down with read_wav(path, mono="mix") (average of the channels) or '
                    "choose one channel with mono=0 (left) / mono=1 (right); load_pair takes "
                    "the same mono= argument",
            ))
        x = data[:, 0]
    elif mono is False:
        x = data.T
    elif mono == "mix":
        x = data.mean(axis=1)
    elif isinstance(mono, numbers.Integral) and not isinstance(mono, bool):
        if not -channels <= int(mono) < channels:
            raise ChannelError(problem(
                label, found=f"{channels} channel(s) and mono={mono}",
                expected=f"a channel index in 0..{channels - 1}",
                fix=f"pass mono= one of 0..{channels - 1}, or mono=\"mix\"",
            ))
        x = data[:, int(mono)]
    else:
        raise ParameterError(problem(
            f"mono={mono!r}", found=repr(mono), expected='True, False, "mix" or a channel index',
            fix='pass mono=True (require mono), mono="mix" (average) or mono=0 (first channel)',
        ))
    return np.ascontiguousarray(x, dtype=np.float32), file_sr


def write_wav(
    path: str | os.PathLike, x: np.ndarray, sr: int, *, subtype: str = "FLOAT"
) -> Path:
    """Write a WAV file, creating parent folders.

    Parameters
    ----------
    path : str or path-like
        Destination; parent folders are created.
    x : np.ndarray [shape=(n,) or (channels, n)]
        Samples in linear full scale. Must be finite.
    sr : int > 0
        Sample rate, Hz.
    subtype : str
        soundfile subtype: ``"FLOAT"`` (32-bit float, the study's format, keeps values beyond
        +-1), ``"PCM_16"``, ``"PCM_24"``, ... Integer subtypes clip at +-1, so a signal beyond
        full scale raises :class:`~fxlab.errors.ClippingError` for them.

    Returns
    -------
    path : pathlib.Path
    """

    sr = check_sr(sr)
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim not in (1, 2):
        raise ParameterError(problem(
            f"write_wav {os.fspath(path)}", found=f"an array of shape {arr.shape}",
            expected="(n,) or (channels, n)", fix="pass a mono signal or a (channels, n) array",
        ))
    bad = ~np.isfinite(arr)
    if bad.any():
        first = int(np.flatnonzero(bad.reshape(-1) if arr.ndim == 1 else bad.any(axis=0))[0])
        raise NonFiniteError(problem(
            f"write_wav {os.fspath(path)}", found=f"{int(bad.sum())} NaN/inf samples, first at "
            f"sample {first}", expected="finite samples",
            fix="find where the NaN/inf came from (e.g. a diverged model) before writing",
        ))
    if not subtype.upper().startswith("FLOAT") and not subtype.upper().startswith("DOUBLE") \
            and arr.size and float(np.max(np.abs(arr))) > 1.0:
        raise ClippingError(problem(
            f"write_wav {os.fspath(path)}", found=f"peak {float(np.max(np.abs(arr))):.3f} with "
            f"subtype {subtype}", expected="samples within [-1, 1] for an integer format",
            fix='write with subtype="FLOAT" or scale the signal down',
        ))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with wav_writer(out, sr, channels=1 if arr.ndim == 1 else arr.shape[0],
                        subtype=subtype) as dst:
            dst.write(arr.T if arr.ndim == 2 else arr)
    except (ValueError, TypeError) as exc:
        raise ParameterError(problem(
            f"write_wav {out}: subtype={subtype!r}", found=f"{subtype!r} ({exc})",
            expected="a soundfile WAV subtype such as FLOAT, PCM_16, PCM_24",
            fix='pass subtype="FLOAT"',
        )) from exc
    return out


# libsndfile's command that turns the PEAK chunk of float WAVs on or off (sndfile.h).
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def wav_writer(path: str | os.PathLike, sr: int, *, channels: int = 1, subtype: str = "FLOAT"):
    """Open a WAV file for writing (a ``soundfile.SoundFile``, to use in a ``with`` block) whose
    bytes depend on its samples only.

    libsndfile adds a PEAK chunk to float WAVs, and that chunk holds the time of writing: the same
    samples written a second apart gave files with different hashes, so a session id or a cache
    built on file hashes changed from one run to the next. fxlab writes every WAV without it
    (nothing reads it: players compute the peak themselves); the samples are unchanged.

    Parameters
    ----------
    path : str or path-like
        Destination (its folder must exist).
    sr : int > 0
        Sample rate, Hz.
    channels : int
        Number of channels.
    subtype : str
        soundfile subtype, ``"FLOAT"`` by default.

    Returns
    -------
    soundfile.SoundFile
        Open for writing; write blocks with ``.write(samples)``.
    """
    import soundfile as sf

    f = sf.SoundFile(os.fspath(path), "w", samplerate=int(sr), channels=int(channels),
                     subtype=subtype)
    if f.subtype in ("FLOAT", "DOUBLE"):  # must come before the first sample is written
        sf._snd.sf_command(f._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
    return f


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Change the sample rate with soxr (the SoX resampler) at its "VHQ" quality.

    soxr VHQ is a linear-phase band-limited resampler (passband to ~95% of the lower Nyquist,
    stopband attenuation ~175 dB), the same engine ``librosa.resample(res_type="soxr_vhq")``
    uses. The output is aligned with the input (no added delay).

    Parameters
    ----------
    x : np.ndarray [shape=(n,) or (channels, n)]
        Signal, time on the last axis.
    sr_in, sr_out : int > 0
        Input and output sample rates, Hz.

    Returns
    -------
    y : np.ndarray [shape=(m,) or (channels, m), dtype=float32]
        ``m = ceil(n * sr_out / sr_in)`` samples.
    """
    import soxr

    sr_in = check_sr(sr_in, name="sr_in")
    sr_out = check_sr(sr_out, name="sr_out")
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim not in (1, 2):
        raise ParameterError(problem(
            "resample input", found=f"an array of shape {arr.shape}",
            expected="(n,) or (channels, n)", fix="pass a mono signal or a (channels, n) array",
        ))
    if sr_in == sr_out:
        return arr.copy()
    if arr.ndim == 1:
        return soxr.resample(arr, sr_in, sr_out, quality="VHQ").astype(np.float32)
    out = soxr.resample(np.ascontiguousarray(arr.T), sr_in, sr_out, quality="VHQ")
    return np.ascontiguousarray(out.T, dtype=np.float32)


# --------------------------------------------------------------------------------------------
# checks


def peak_dbfs(x: np.ndarray) -> float:
    """Peak level ``20 log10 max|x|`` in dBFS (``-inf`` for an all-zero or empty signal)."""
    arr = np.asarray(x)
    peak = float(np.max(np.abs(arr))) if arr.size else 0.0
    return 20.0 * math.log10(peak) if peak > 0 else float("-inf")


def loudest_start(x: np.ndarray, n: int, *, hop: int) -> int:
    """Start [samples] of the ``n``-sample stretch of ``x`` with the most energy.

    Candidate starts are every ``hop`` samples (the first wins a tie); ``0`` when ``x`` is not
    longer than ``n``. Used to pick excerpts: the evaluation's scored clips, the listening test's.
    """
    x = np.asarray(x)
    if n >= x.size:
        return 0
    c = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    starts = np.arange(0, x.size - n + 1, max(int(hop), 1))
    return int(starts[int(np.argmax(c[starts + n] - c[starts]))])


def _runs(mask: np.ndarray, min_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of runs of True in ``mask`` that are at least ``min_len`` long."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    lengths = ends - starts
    keep = lengths >= min_len
    return starts[keep], lengths[keep]


def as_mono(x, *, name: str) -> np.ndarray:
    """``x`` as a float32 mono signal ``(n,)``, checked: non-empty, one channel, finite samples
    (silence and full scale allowed: a model's input may be either). The one shape-and-finite
    check of arrays handed to training and to a model; files get :func:`check_signal` too.

    Raises
    ------
    ParameterError
        Not a non-empty 1-D array.
    NonFiniteError
        NaN or infinite samples (how many, the first index).
    """
    a = np.asarray(x, dtype=np.float32)
    if a.ndim != 1 or a.size == 0:
        raise ParameterError(problem(name, found=f"an array of shape {a.shape}",
                                     expected="a non-empty mono signal of shape (n,)",
                                     fix="pass one channel as a 1-D float array"))
    bad = ~np.isfinite(a)
    if bad.any():
        raise NonFiniteError(problem(
            name, found=f"{int(bad.sum())} NaN or infinite samples, the first at sample "
                        f"{int(np.flatnonzero(bad)[0])}", expected="finite samples",
            fix="clean the signal (fxlab.capture.load_pair checks files)"))
    return a


def check_signal(
    x: np.ndarray,
    *,
    name: str,
    sr: int | None = None,
    silence_db: float = SILENCE_DB,
    clip_level: float = CLIP_LEVEL,
    clip_run: int = CLIP_RUN,
) -> float:
    """Raise if a signal has NaN/inf samples, is silent, or is clipped; else return its peak.

    Parameters
    ----------
    x : np.ndarray [shape=(n,) or (channels, n)]
        Signal, linear full scale.
    name : str
        What to call it in messages (usually the file path).
    sr : int or None
        Sample rate, Hz; when given, positions are also reported in seconds.
    silence_db : float
        Silence threshold: a peak below this many dBFS is silent (default -60 dBFS).
    clip_level : float in (0, 1]
        Magnitude that counts as full scale (default 0.999).
    clip_run : int >= 1
        Minimum run of consecutive full-scale samples that counts as clipping (default 3).

    Returns
    -------
    peak_db : float
        The peak level, dBFS.

    Raises
    ------
    NonFiniteError
        NaN or inf samples (the message gives how many and the first index).
    SilenceError
        Peak below ``silence_db`` (or an empty signal).
    ClippingError
        Runs of ``clip_run`` or more samples at ``|x| >= clip_level`` (how many, where).
    """
    arr = np.asarray(x)
    flat = arr if arr.ndim == 1 else arr.reshape(-1, arr.shape[-1]).T.reshape(-1)

    def where(i: int) -> str:
        return f"sample {i}" + (f" ({i / sr:.3f} s)" if sr else "")

    bad = ~np.isfinite(flat)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        if arr.ndim > 1:
            first //= int(np.prod(arr.shape[:-1]))
        kinds = []
        if np.isnan(flat).any():
            kinds.append("NaN")
        if np.isinf(flat).any():
            kinds.append("inf")
        raise NonFiniteError(problem(
            name, found=f"{int(bad.sum())} {'/'.join(kinds)} samples, the first at {where(first)}",
            expected="finite samples",
            fix="re-export the file from the audio editor as 32-bit float or 24-bit PCM; check "
                "the processing that produced it",
        ))
    level = peak_dbfs(flat)
    if flat.size == 0 or level < silence_db:
        found = "an empty signal" if flat.size == 0 else f"peak {level:.1f} dBFS"
        raise SilenceError(problem(
            name, found=found, expected=f"a peak above {silence_db:g} dBFS",
            fix="check that the right file was recorded/exported (not an empty track) and "
                "raise its level; for deliberately quiet material pass a lower silence_db",
        ))
    channels = arr.reshape(-1, arr.shape[-1]) if arr.ndim > 1 else arr[None, :]
    total_runs, total_samples, first = 0, 0, None
    for ch in channels:
        starts, lengths = _runs(np.abs(ch) >= clip_level, clip_run)
        total_runs += len(starts)
        total_samples += int(lengths.sum())
        if len(starts) and (first is None or int(starts[0]) < first):
            first = int(starts[0])
    if total_runs:
        raise ClippingError(problem(
            name, found=f"{total_runs} run(s) of >= {clip_run} consecutive samples at "
            f"|x| >= {clip_level:g} ({total_samples} samples in all), the first at "
            f"{where(first)}",
            expected="no clipping (peaks below full scale)",
            fix="record or render it again with a lower input level or output gain (leave a few "
                "dB of headroom); a clipped target teaches the model the clipping",
        ))
    return level


_FRAME_S = 0.05
_ACTIVE_DB = -60.0


def level_profile(x: np.ndarray, *, sr: int) -> dict[str, float]:
    """Peak and short-term (50 ms RMS) levels of ``x``.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
    sr : int > 0
        Sample rate, Hz.

    Returns
    -------
    dict
        ``peak_dbfs``; ``rms_dbfs`` (whole signal); ``active_p5_dbfs``, ``active_p50_dbfs``,
        ``active_p95_dbfs``: percentiles of the 50 ms RMS over frames above -60 dBFS (the
        range of levels the signal spends its time at); ``active_fraction`` of frames.
    """
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    frame = max(int(sr * _FRAME_S), 1)
    n = a.size // frame
    with np.errstate(divide="ignore"):
        peak = 20 * math.log10(float(np.max(np.abs(a)))) if a.size and np.any(a) else -math.inf
        rms = 10 * math.log10(float(np.mean(a**2))) if a.size and np.any(a) else -math.inf
        frames = 10 * np.log10(np.mean(a[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-30)
    active = frames[frames > _ACTIVE_DB] if n else np.zeros(0)
    pct = np.percentile(active, [5, 50, 95]) if active.size else [-math.inf] * 3
    return {"peak_dbfs": peak, "rms_dbfs": rms, "active_p5_dbfs": float(pct[0]),
            "active_p50_dbfs": float(pct[1]), "active_p95_dbfs": float(pct[2]),
            "active_fraction": float(active.size / n) if n else 0.0}
