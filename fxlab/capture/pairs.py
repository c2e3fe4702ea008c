"""A user's dry/wet recording pair: read, checked and aligned (:func:`load_pair`).

A user who brings a recording of their own effect gives two files, the dry input and the wet
output. :func:`load_pair` reads both and refuses -- with a message that names the file, what was
found, what was expected and the fix -- anything a network cannot learn from: different sample
rates, stereo, different lengths, NaN/inf samples, silence, clipping, or a time offset between
the two (which it can also measure and correct).

Alignment is causal: the wet is shifted by the onset of the effect's response
(:func:`fxlab.capture.alignment.estimate_latency`), never by a cross-correlation's peak.

Never negative, never silently weak. A causal effect never answers before it is asked: a
measured latency below zero is a finding (the files are swapped, or a DAW's delay compensation
moved the wet recording), refused with the fix, never a shift to apply (applying it would build a
delay into the model). A weakly determined latency (:attr:`LatencyEstimate.weak`: noise hides
the first taps, or the effect distorts and its response starts softly) may be late, and a late
shift asks the model to predict the future: it is not applied; the error says what it would have
shifted and asks for ``latency=N`` (``fxlab train --latency N``) or the reamp signal. A weak
estimate of 0 is taken: not shifting at all never asks a causal model to predict the future (if
the effect does have latency, the model learns it as a delay).
When the dry file is fxlab's reamp signal (:mod:`fxlab.capture.reamp`), the latency comes from
its calibration clicks instead, exactly.

This module decides what a measurement means for the pair; :mod:`fxlab.capture.alignment` measures.

- :func:`load_pair`        read and check a dry/wet pair, optionally aligning it -> :class:`AudioPair`
- :class:`AudioPair`       the checked pair (dry, wet, sr, offset_samples, latency, paths, notes)
- :data:`ALIGN_MODES`
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fxlab.audio import check_signal, read_wav
from fxlab.capture import reamp
from fxlab.capture.alignment import (
    LatencyEstimate,
    estimate_latency,
)
from fxlab.errors import (
    LatencyUncertainError,
    LengthMismatchError,
    MisalignmentError,
    ParameterError,
    SampleRateError,
    problem,
    unknown_name,
)

__all__ = ["ALIGN_MODES", "AudioPair", "load_pair"]

ALIGN_MODES = ("correct", "check", "off")
""":func:`load_pair` alignment: shift to line up, refuse an offset, or do not look."""

@dataclass
class AudioPair:
    """A checked dry/wet recording pair.

    Attributes
    ----------
    dry, wet : np.ndarray [shape=(n,), dtype=float32]
        Same length, mono, finite, not silent, not clipped; aligned when ``load_pair`` aligned
        them.
    sr : int
        Sample rate, Hz.
    offset_samples : int
        Offset of wet relative to dry that was found or given (positive: wet lagged dry),
        samples; 0 when alignment was off.
    dry_path, wet_path : pathlib.Path
    notes : list of str
        What was found and done (levels, offset, trimming), one line each.
    latency : LatencyEstimate or None
        The measured latency and its evidence; ``None`` when alignment was off, the latency
        was given, or it came from the reamp signal's clicks.
    reamp : fxlab.capture.reamp.ReampLayout or None
        The layout when the dry file is fxlab's reamp signal (its training body and two
        validation takes).
    clicks : fxlab.capture.reamp.ClickAlignment or None
        The latency found from the reamp signal's clicks, and the evidence.
    """

    dry: np.ndarray
    wet: np.ndarray
    sr: int
    offset_samples: int
    dry_path: Path
    wet_path: Path
    notes: list[str] = field(default_factory=list)
    latency: LatencyEstimate | None = None
    reamp: reamp.ReampLayout | None = None
    clicks: reamp.ClickAlignment | None = None

    @property
    def n(self) -> int:
        """Length, samples."""
        return int(self.dry.shape[0])

    @property
    def duration_s(self) -> float:
        """Length, seconds."""
        return self.n / self.sr


def load_pair(
    dry_path: str | os.PathLike,
    wet_path: str | os.PathLike,
    *,
    sr: int | None = None,
    align: str = "correct",
    max_offset_s: float = 0.5,
    tolerance: int = 0,
    mono: bool | str | int = True,
    latency: int | None = None,
) -> AudioPair:
    """Read a dry/wet pair and check that a model can learn from it.

    Checks, in order: both files readable (:class:`~fxlab.errors.AudioFileError`), same sample
    rate, equal to ``sr`` when given (:class:`~fxlab.errors.SampleRateError`), mono
    (:class:`~fxlab.errors.ChannelError`), finite (:class:`~fxlab.errors.NonFiniteError`), not
    silent (:class:`~fxlab.errors.SilenceError`), not clipped
    (:class:`~fxlab.errors.ClippingError`), then alignment and length:

    - ``align="correct"``: measure the latency (:func:`estimate_latency`: the onset of the
      response, up to ``max_offset_s``; from the clicks when the dry file is fxlab's reamp
      signal, :func:`fxlab.capture.reamp.align_from_clicks`; or take ``latency`` as given), shift
      the later signal back and trim both to their common length; the offset goes in ``notes``.
      A measured latency below zero raises :class:`~fxlab.errors.MisalignmentError` (a causal
      effect never answers early), a weakly determined one above zero
      :class:`~fxlab.errors.LatencyUncertainError` (it may be late: see the module text). Lengths may differ only by the detected offset (latency recorded as extra
      samples at the start of the later file) or not at all, give or take ``tolerance``.
    - ``align="check"``: measure the offset and raise
      :class:`~fxlab.errors.MisalignmentError` when ``|offset| > tolerance``; lengths must be equal.
    - ``align="off"``: do not look; lengths must be equal.

    Unequal lengths otherwise raise :class:`~fxlab.errors.LengthMismatchError`.

    Parameters
    ----------
    dry_path, wet_path : str or path-like
        The effect's input and its output.
    sr : int > 0 or None
        Required sample rate, Hz, or ``None`` to accept the files' (common) rate.
    align : {"correct", "check", "off"}
    max_offset_s : float >= 0
        Largest offset searched, seconds.
    tolerance : int >= 0
        Offset (and leftover length difference) accepted without complaint, samples.
    mono : True, "mix" or int
        As in :func:`read_wav`; ``True`` refuses stereo files.
    latency : int or None
        The latency when the user knows it, samples (wet lags dry when positive): used instead
        of measuring, with ``align="correct"`` or ``"check"``.

    Returns
    -------
    AudioPair
    """
    _check_arguments(align=align, tolerance=tolerance, max_offset_s=max_offset_s,
                     latency=latency, mono=mono)
    dpath, wpath = Path(dry_path), Path(wet_path)
    dry, wet, rate, notes = _read_pair(dpath, wpath, sr=sr, mono=mono)

    def length_error(extra: str) -> LengthMismatchError:
        return _length_error(dpath, wpath, dry.shape[0], wet.shape[0], rate, align, extra)

    diff = wet.shape[0] - dry.shape[0]
    if align == "off":
        if abs(diff) > tolerance:
            raise length_error("")
        n = min(dry.shape[0], wet.shape[0])
        notes.append("alignment not checked (align=\"off\")")
        return AudioPair(dry[:n], wet[:n], rate, 0, dpath, wpath, notes)

    layout = reamp.recognise(dry, rate, name=str(dpath))
    if layout is not None:
        notes.append(f"{dpath.name} is fxlab's reamp signal ({layout.n / rate:.1f} s): training "
                     "on its body, holding out its first validation take, the second measures "
                     "the noise floor")
    offset, estimate, clicks = _find_offset(dry, wet, rate, dpath, wpath, layout=layout,
                                            align=align, max_offset_s=max_offset_s,
                                            latency=latency, notes=notes)
    if align == "check":
        _check_offset(offset, tolerance, rate, dpath, wpath)
        if abs(diff) > tolerance:
            raise length_error("")
        n = min(dry.shape[0], wet.shape[0])
        notes.append(f"offset {offset:+d} samples, within tolerance {tolerance}")
        return AudioPair(dry[:n], wet[:n], rate, offset, dpath, wpath, notes, estimate, layout,
                         clicks)

    d_al, w_al = _corrected(dry, wet, rate, offset, layout, tolerance=tolerance, notes=notes,
                            length_error=length_error)
    return AudioPair(d_al, w_al, rate, offset, dpath, wpath, notes, estimate, layout, clicks)


def _check_offset(offset: int, tolerance: int, rate: int, dpath: Path, wpath: Path) -> None:
    """``align="check"``: refuse an offset beyond ``tolerance``."""
    if abs(offset) > tolerance:
        raise MisalignmentError(problem(
            f"{wpath} against {dpath}",
            found=f"wet {'lags' if offset > 0 else 'leads'} dry by {abs(offset)} samples "
                  f"({abs(offset) / rate * 1000.0:.2f} ms)",
            expected=f"an offset of at most {tolerance} samples",
            fix="pass align=\"correct\" to shift and trim them automatically, or remove "
                f"{abs(offset)} samples from the start of the "
                f"{'wet' if offset > 0 else 'dry'} file",
        ))


def _corrected(dry: np.ndarray, wet: np.ndarray, rate: int, offset: int, layout, *, tolerance: int,
               notes: list[str], length_error) -> tuple[np.ndarray, np.ndarray]:
    """``align="correct"``: the pair shifted by ``offset`` and trimmed to a common length.
    Accepted lengths are equal or differ by the offset (+- ``tolerance``); a recording of the
    reamp signal may be longer (a DAW's bounce with a tail) or stop in its final silence, as long
    as it holds the whole second validation take. ``length_error(extra)`` makes the refusal."""
    diff = wet.shape[0] - dry.shape[0]
    if layout is not None:
        if wet.shape[0] - max(offset, 0) < layout.takes[1][1]:
            raise length_error(", too short to hold the reamp signal's last validation take")
        wet = wet[:dry.shape[0] + max(offset, 0)]
    elif abs(diff) > tolerance and abs(diff - offset) > tolerance:
        raise length_error(f", not explained by the detected offset of {offset:+d} samples")
    d_al, w_al = _shifted(dry, wet, offset, rate, notes)
    if d_al.shape[0] <= 0:
        raise length_error(", nothing left after aligning")
    return d_al, w_al


def _check_arguments(*, align, tolerance, max_offset_s, latency, mono) -> None:
    """:func:`load_pair`'s argument checks (before any file is read)."""
    if align not in ALIGN_MODES:
        raise unknown_name("align mode", align, ALIGN_MODES)
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Integral) or tolerance < 0:
        raise ParameterError(problem(
            f"tolerance={tolerance!r}", found=repr(tolerance), expected="an int >= 0 (samples)",
            fix="pass e.g. tolerance=0 (exact) or tolerance=2",
        ))
    if isinstance(max_offset_s, bool) or not isinstance(max_offset_s, numbers.Real) \
            or not math.isfinite(float(max_offset_s)) or max_offset_s < 0:
        raise ParameterError(problem(
            f"max_offset_s={max_offset_s!r}", found=repr(max_offset_s),
            expected="a number of seconds >= 0", fix="pass e.g. max_offset_s=0.5",
        ))
    if latency is not None and (isinstance(latency, bool)
                                or not isinstance(latency, numbers.Integral)):
        raise ParameterError(problem(
            f"latency={latency!r}", found=repr(latency), expected="a whole number of samples",
            fix="pass e.g. latency=37 (wet lags dry by 37 samples) or None to measure it"))
    if latency is not None and align == "off":
        raise ParameterError(problem(
            f"latency={latency} with align=\"off\"", found="a latency to apply, alignment off",
            expected="align=\"correct\" (shift by it) or \"check\" (refuse it when too large)",
            fix="drop align=\"off\", or drop the latency"))
    if mono is False:
        raise ParameterError(problem(
            "mono=False", found="mono=False", expected='True, "mix" or a channel index',
            fix="load_pair needs mono signals: pass mono=True, \"mix\" or 0",
        ))


def _read_pair(dpath: Path, wpath: Path, *, sr, mono) -> tuple[np.ndarray, np.ndarray, int, list[str]]:
    """Both files read and checked (same rate, finite, not silent, not clipped): (dry, wet,
    rate, notes)."""
    dry, dry_sr = read_wav(dpath, sr=sr, mono=mono)
    wet, wet_sr = read_wav(wpath, sr=sr, mono=mono)
    if dry_sr != wet_sr:
        raise SampleRateError(problem(
            f"{dpath} and {wpath}", found=f"{dry_sr} Hz (dry) and {wet_sr} Hz (wet)",
            expected="the same sample rate for both files",
            fix=f"resample one with fxlab.audio.resample(x, {wet_sr}, {dry_sr}) (or re-export "
                "it at the other's rate)",
        ))
    notes: list[str] = []
    for path, x in ((dpath, dry), (wpath, wet)):
        level = check_signal(x, name=str(path), sr=dry_sr)
        notes.append(f"{path.name}: {x.shape[0]} samples ({x.shape[0] / dry_sr:.3f} s) at "
                     f"{dry_sr} Hz, peak {level:.1f} dBFS")
    return dry, wet, dry_sr, notes


def _length_error(dpath: Path, wpath: Path, n_dry: int, n_wet: int, rate: int, align: str,
                  extra: str) -> LengthMismatchError:
    diff = n_wet - n_dry
    return LengthMismatchError(problem(
        f"{dpath} and {wpath}",
        found=f"{n_dry} samples (dry) and {n_wet} samples (wet), a difference "
              f"of {diff:+d} samples ({diff / rate * 1000:+.1f} ms){extra}",
        expected="the same length" + (", or a difference equal to the offset between them"
                                      if align == "correct" else ""),
        fix="render/record both over the same span (same start and end), or trim the longer "
            "one; load_pair(..., align=\"correct\") also accepts wet with latency samples "
            "prepended",
    ))


def _find_offset(dry, wet, rate: int, dpath: Path, wpath: Path, *, layout, align: str,
                 max_offset_s: float, latency: int | None, notes: list[str]):
    """The offset to remove: given, from the reamp signal's clicks, or measured (refused when
    it is not safe to apply); appends what was found to ``notes``. Returns (offset, estimate,
    clicks)."""
    max_lag = int(round(float(max_offset_s) * rate))
    if latency is not None:
        notes.append(f"latency given: {int(latency):+d} samples (not measured)")
        return int(latency), None, None
    if layout is not None:
        clicks = reamp.align_from_clicks(wet, layout, max_lag=max_lag, name=str(wpath))
        notes.append(f"latency {clicks.samples:+d} samples from the reamp signal's "
                     f"{len(clicks.per_click)} clicks (each answered at "
                     f"{', '.join(f'{v:+d}' for v in clicks.per_click)}; "
                     + ("background digital silence: exact)" if clicks.clean else
                        f"noisy background: {clicks.margin} sample taken off for safety)"))
        return clicks.samples, None, clicks
    try:
        estimate = estimate_latency(dry, wet, max_lag=max_lag)
    except (MisalignmentError, ParameterError) as e:
        what = str(e).split(": ", 1)[-1]
        raise type(e)(f"{dpath} and {wpath}: {what}") from None
    notes.append(f"latency {estimate.samples:+d} samples from the onset of the response (peak "
                 f"at {estimate.peak_lag:+d}); a causal response explains "
                 f"{100 * estimate.relatedness:.1f} % of the wet signal")
    if align == "correct":
        _refuse_unsafe(estimate, dpath, wpath, rate)
    if estimate.weak and align == "check":
        notes.append(f"warning: the onset is weakly determined ({estimate.why_weak}): the "
                     "latency may be a few samples late")
    elif estimate.weak:  # and 0: _refuse_unsafe let nothing else through
        notes.append(f"the onset is weakly determined ({estimate.why_weak}); 0 taken: a "
                     "causal effect cannot answer before its input, so no shift at all never "
                     "asks the model to predict the future. If the effect has latency, the "
                     "model learns it as a delay (pass --latency N if you know it)")
    return estimate.samples, estimate, None


def _shifted(dry: np.ndarray, wet: np.ndarray, offset: int, rate: int,
             notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The later signal's first ``|offset|`` samples dropped, both trimmed to their common
    length (contiguous); what was done appended to ``notes``."""
    d_al, w_al = (dry, wet[offset:]) if offset >= 0 else (dry[-offset:], wet)
    n = max(min(d_al.shape[0], w_al.shape[0]), 0)
    if offset == 0:
        notes.append("aligned: no offset between dry and wet")
    else:
        later, earlier = ("wet", "dry") if offset > 0 else ("dry", "wet")
        notes.append(f"aligned: {later} lagged {earlier} by {abs(offset)} samples "
                     f"({abs(offset) / rate * 1000.0:.2f} ms); dropped its first {abs(offset)} samples")
    trimmed = max(d_al.shape[0], w_al.shape[0]) - n
    if trimmed and n:
        notes.append(f"trimmed {trimmed} samples from the end of the longer signal; "
                     f"{n} samples ({n / rate:.3f} s) remain")
    return np.ascontiguousarray(d_al[:n]), np.ascontiguousarray(w_al[:n])


def _refuse_unsafe(estimate: LatencyEstimate, dpath: Path, wpath: Path, rate: int) -> None:
    """Raise when a measured latency is below zero, or weak and above zero (see the module
    text): neither is a shift to apply."""
    offset = estimate.samples
    ms = 1000.0 * abs(offset) / rate
    ask = ("pass the latency if you know it (fxlab train --latency N; 0 for a plugin or pedal "
           "that reports none), or record the effect with fxlab's reamp signal (`fxlab "
           "reamp-signal dry.wav`, play it through the effect, train on that pair: its clicks "
           "give the latency exactly)")
    if offset < 0:
        why = (f" (weakly determined: {estimate.why_weak}; the best linear fit of a distorting "
               "effect can reach into the future)" if estimate.weak else "")
        raise MisalignmentError(problem(
            f"{wpath} against {dpath}",
            found=f"the wet signal answers {-offset} samples ({ms:.2f} ms) before the dry one"
                  + why,
            expected="a latency of 0 or more (a causal effect never answers before its input; "
                     "applying this would build a delay into the model)",
            fix="check that --dry and --wet are not swapped, and turn off the DAW's delay "
                "compensation for the recording; " + ask
                + f"; if the wet truly was moved {-offset} samples early, pass --latency {offset}"))
    if offset > 0 and estimate.weak:
        raise LatencyUncertainError(problem(
            f"{wpath} against {dpath}",
            found=f"a latency of {offset:+d} samples ({ms:.2f} ms; response peak at "
                  f"{estimate.peak_lag:+d}), weakly determined: {estimate.why_weak}; it may be "
                  f"late, and shifting by {offset} samples would ask the model to predict the future",
            expected="a latency measured with confidence", fix=ask))
