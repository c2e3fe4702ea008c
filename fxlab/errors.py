"""fxlab's own errors.

Every problem a user can cause -- a wrong sample rate, stereo where mono is expected, an unknown
effect or model name, a bad parameter -- raises a subclass of :class:`FxlabError`. The message
says *what* was found, *what* was expected and *how to fix it*, and names the file or value.

Build messages with :func:`problem` so that they all read the same way::

    raise SampleRateError(problem(
        "dry.wav", found="sample rate 48000 Hz", expected="44100 Hz",
        fix="resample it with fxlab.audio.resample(x, 48000, 44100) or pass sr=48000",
    ))

``FxlabError`` subclasses ``ValueError``, so code that already catches ``ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "FxlabError",
    "ParameterError",
    "UnknownNameError",
    "AudioFileError",
    "SampleRateError",
    "ChannelError",
    "LengthMismatchError",
    "NonFiniteError",
    "SilenceError",
    "ClippingError",
    "MisalignmentError",
    "UnrelatedPairError",
    "LatencyUncertainError",
    "LevelWarning",
    "EngineUnavailableError",
    "PipelineError",
    "problem",
    "unknown_name",
]


class FxlabError(ValueError):
    """Base class of every error fxlab raises on purpose."""


class ParameterError(FxlabError):
    """A parameter value is out of range or of the wrong type."""


class UnknownNameError(FxlabError, KeyError):
    """A name (effect, model, profile, data set, parameter, step) that fxlab does not know."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class AudioFileError(FxlabError):
    """An audio file is missing, unreadable or not audio."""


class SampleRateError(AudioFileError):
    """A file's sample rate differs from the expected one, or two files disagree."""


class ChannelError(AudioFileError):
    """Stereo (or more channels) where mono is expected, or channel counts disagree."""


class LengthMismatchError(AudioFileError):
    """Dry and wet recordings have different lengths."""


class NonFiniteError(AudioFileError):
    """The signal holds NaN or infinite samples."""


class SilenceError(AudioFileError):
    """The signal is silent (its peak is below the silence threshold)."""


class ClippingError(AudioFileError):
    """The signal is clipped (runs of samples at full scale)."""


class MisalignmentError(AudioFileError):
    """Dry and wet recordings are offset in time by more than the tolerance."""


class UnrelatedPairError(MisalignmentError):
    """The wet recording does not look like the dry one through an effect."""


class LatencyUncertainError(MisalignmentError):
    """The latency could not be measured with confidence from this material: give it, or record
    with the reamp signal."""


class LevelWarning(UserWarning):
    """A model is fed louder input than anything it was trained on (it extrapolates)."""


class EngineUnavailableError(ParameterError):
    """A runtime engine cannot run this model (the message says why)."""


class PipelineError(FxlabError):
    """A pipeline step failed or the pipeline was asked for something it cannot run."""


def problem(subject: object, *, found: str, expected: str, fix: str) -> str:
    """Format an error message: ``"<subject>: found <found>; expected <expected>. Fix: <fix>"``."""
    return f"{subject}: found {found}; expected {expected}. Fix: {fix}"


def unknown_name(kind: str, name: object, known: list[str] | tuple[str, ...]) -> UnknownNameError:
    """An :class:`UnknownNameError` for ``name`` that lists every ``known`` name of this ``kind``."""
    listing = ", ".join(sorted(str(k) for k in known)) or "(none)"
    return UnknownNameError(
        f"unknown {kind} {name!r}; known {kind}s: {listing}. "
        f"Fix: use one of those names (check the spelling)."
    )
