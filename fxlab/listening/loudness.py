"""Level matching of the listening test's clips: ITU-R BS.1770-4 loudness, measured by pyloudnorm.

A level difference gives a model away (louder usually sounds "better"), so every version of a clip
is brought to the same loudness before a rater hears it.

- :func:`loudness`                  loudness of a mono clip in LUFS (BS.1770-4, gated; see below)
- :func:`match_gains`               the gain of each side of a pair: matched loudness, peaks <= -1 dBFS
- :func:`k_weighting_coefficients`  the two biquads of the K-weighting filter pyloudnorm applies
- :data:`LOUDNESS_METHOD`           how loudness is measured, as recorded in ``trials.json``

The measure
    ``pyloudnorm.Meter(sr, filter_class="DeMan").integrated_loudness(x)``: the K-weighting filter,
    400 ms blocks overlapping by 75%, the absolute gate (-70 LUFS) and the relative gate (-10 LU).
    pyloudnorm's ``"DeMan"`` filters are its exact BS.1770 K-weighting (at 48 kHz they equal the
    standard's table to 1e-9); its default ``"K-weighting"`` class is a cookbook approximation that
    reads a full-scale 997 Hz sine 0.04 dB low (-3.05 instead of -3.01 LUFS).
Clips shorter than one gating block (400 ms)
    BS.1770's gates need at least one whole 400 ms block; pyloudnorm refuses shorter input. Those
    clips (the tests' 0.25 s clips, a model rendered on a short excerpt) are measured *ungated*: the
    K-weighted mean square through the same pyloudnorm filters, ``-0.691 + 10 log10(mean(y**2))``.
    On continuous sound the two agree (a 997 Hz sine reads -3.01 LUFS either way).
Silence
    A clip below -70 LUFS (BS.1770's absolute gate) is called silent and is not gained up; digital
    silence reads ``-inf``.
Versus the ungated measure used before
    The listening test matched clips by the ungated K-weighted mean square (same filters) until it
    moved to pyloudnorm. Measured on the same faded clips: steady white and pink noise move by
    under 0.01 dB. The gates drop quiet blocks, and the overlapping blocks weight a clip's middle
    more than its first and last 0.3 s, so clips that are not steady move by tenths of a dB to
    about 1 dB: the loudest 3 s of the study's voice clip (``arctic_a0007``; the high-passed target
    and the input) read 0.26 and 0.21 dB louder, so both are gained down by that and the pair's
    relative level moves by 0.04 dB; a 1 s cut of it reads 1.0 dB quieter; a 3 s high-passed
    rising sweep reads 1.2 dB louder (its quiet low start is gated out). In the tests' 1 s pairs
    (``tests/browser_support.make_run_dir``) the gains moved by -0.27 to +0.22 dB and the level
    of a candidate relative to its target by at most 0.14 dB (the unprocessed input of the noise
    and sweep clip). Both sides of a pair are measured the same way, so pairs stay matched by the
    standard's measure; the new clips make new sessions (the session id hashes the clips).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib.metadata import version

import numpy as np
import pyloudnorm

from fxlab.util import check_sr

__all__ = ["LOUDNESS_METHOD", "k_weighting_coefficients", "loudness", "match_gains"]

#: Length of BS.1770's gating block in seconds; shorter clips are measured ungated.
GATING_BLOCK_S = 0.4
#: Below this loudness (LUFS) a clip is silent and is not gained up (BS.1770's absolute gate).
SILENT_LUFS = -70.0
#: The largest gain a clip gets, dB.
MAX_GAIN_DB = 30.0
#: The loudest side of a pair peaks at most here after matching (-1 dBFS, linear).
PEAK_CEILING = 10 ** (-1 / 20)
#: How loudness is measured; recorded in ``trials.json`` (a change rebuilds the trials).
LOUDNESS_METHOD = (
    f"ITU-R BS.1770-4 integrated loudness, gated (pyloudnorm {version('pyloudnorm')}, exact "
    "K-weighting filters); clips under 0.4 s: ungated K-weighted mean square"
)
_FILTER_CLASS = "DeMan"  # pyloudnorm's exact BS.1770 K-weighting (see the module docstring)


def _meter(sr: int) -> pyloudnorm.Meter:
    return pyloudnorm.Meter(sr, filter_class=_FILTER_CLASS, block_size=GATING_BLOCK_S)


def k_weighting_coefficients(sr: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The two biquads of the K-weighting filter that :func:`loudness` applies, as pyloudnorm makes them.

    Parameters
    ----------
    sr : int > 0
        Sample rate in Hz.

    Returns
    -------
    ((b_shelf, a_shelf), (b_hp, a_hp)) : each ``np.ndarray [shape=(3,)]``
        A high shelf (+4 dB above ~1.7 kHz, the head's effect) then a high-pass (~38 Hz); at
        48 kHz they equal the table of ITU-R BS.1770-4.
    """
    return tuple((np.asarray(f.b, dtype=np.float64), np.asarray(f.a, dtype=np.float64))
                 for f in _meter(check_sr(sr))._filters.values())


def loudness(x: np.ndarray, *, sr: int) -> float:
    """Loudness of a mono signal in LUFS: BS.1770-4 integrated (gated), through pyloudnorm.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
        Mono signal, values in [-1, 1].
    sr : int > 0
        Sample rate in Hz.

    Returns
    -------
    float
        Loudness in LUFS; ``-inf`` for digital silence (and for a clip whose every block is below
        -70 LUFS). A full-scale 997 Hz sine reads -3.01. Clips shorter than 400 ms (one gating
        block) are measured ungated: the K-weighted mean square through the same filters.
    """
    sr = check_sr(sr)
    y = np.asarray(x, dtype=np.float64).reshape(-1)
    meter = _meter(sr)
    if y.size >= math.ceil(GATING_BLOCK_S * sr):
        return float(meter.integrated_loudness(y))
    for stage in meter._filters.values():
        y = stage.apply_filter(y)
    ms = float(np.mean(y * y)) if y.size else 0.0
    return -math.inf if ms <= 0 else -0.691 + 10 * math.log10(ms)


def match_gains(versions: Mapping[str, np.ndarray], *, sr: int,
                target_lufs: float) -> tuple[dict[str, float], dict[str, float]]:
    """Gains that bring every version of a clip to ``target_lufs`` without a peak above -1 dBFS.

    Each version gets the gain that brings its :func:`loudness` to ``target_lufs`` (at most
    +30 dB; a silent version, below -70 LUFS, gets 0 dB). If any version would then peak above
    -1 dBFS, every version is turned down by the same amount, so their loudness stays matched.

    Parameters
    ----------
    versions : mapping of str to np.ndarray [shape=(n,)]
        The versions heard side by side (the target and a candidate), mono, values in [-1, 1].
    sr : int > 0
        Sample rate in Hz.
    target_lufs : float
        The loudness to match, LUFS.

    Returns
    -------
    (loudness_in, gain_db) : (dict, dict)
        Per version, its loudness before matching (LUFS, ``-inf`` for silence) and its gain (dB).
    """
    lufs_in = {k: loudness(v, sr=sr) for k, v in versions.items()}
    gains = {k: 0.0 if lv < SILENT_LUFS else min(float(target_lufs) - lv, MAX_GAIN_DB)
             for k, lv in lufs_in.items()}
    peak = max(float(np.max(np.abs(v))) * 10 ** (gains[k] / 20) for k, v in versions.items())
    if peak > PEAK_CEILING:
        common = 20 * math.log10(PEAK_CEILING / peak)
        gains = {k: g + common for k, g in gains.items()}
    return lufs_in, gains
