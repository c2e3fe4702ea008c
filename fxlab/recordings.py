"""Real recordings shipped with fxlab, by name: held-out material for judging captures and models.

The synthetic training signals and the one speech utterance say little about how a model does on
music. These recordings are real instruments (guitar, piano, tabla, a drum roll) with a free
licence, shipped in ``fxlab/data/instruments/`` unmodified from the Debian package
``sonic-pi-samples`` (CC0; ``COPYING`` beside them), and the study's speech
(``fxlab/data/speech/``, CMU ARCTIC's licence).

- :data:`RECORDINGS`       name -> kind ("instrument" or "speech"), file, what it is
- :func:`list_recordings`  names, optionally of one kind
- :func:`recording_path`   the file of one recording
- :func:`load_recording`   one recording as a mono float32 signal at a chosen rate
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from fxlab.errors import unknown_name

__all__ = ["KINDS", "RECORDINGS", "list_recordings", "load_recording", "recording_path"]

KINDS = ("instrument", "speech")

RECORDINGS: dict[str, dict[str, str]] = {
    "guitar_em9": {"kind": "instrument", "file": "instruments/guit_em9.flac",
                   "what": "guitar, an E minor 9 chord, 10.0 s, stereo"},
    "guitar_fifths": {"kind": "instrument", "file": "instruments/guit_e_fifths.flac",
                      "what": "guitar, fifths on E, 6.0 s, stereo"},
    "guitar_slide": {"kind": "instrument", "file": "instruments/guit_e_slide.flac",
                     "what": "guitar, a slide on the E string, 4.3 s, mono"},
    "guitar_harmonics": {"kind": "instrument", "file": "instruments/guit_harmonics.flac",
                         "what": "guitar harmonics, 3.5 s, mono"},
    "piano": {"kind": "instrument", "file": "instruments/ambi_piano.flac",
              "what": "piano, 2.8 s, stereo"},
    "tabla": {"kind": "instrument", "file": "instruments/loop_tabla.flac",
              "what": "tabla, a loop, 10.7 s, stereo"},
    "drum_roll": {"kind": "instrument", "file": "instruments/drum_roll.flac",
                  "what": "a drum roll, 6.2 s, mono"},
    "speech": {"kind": "speech", "file": "speech/arctic_a0007.wav",
               "what": "male speech, one sentence (CMU ARCTIC bdl a0007), 4.0 s at 16 kHz"},
}
"""Every shipped recording: ``kind``, ``file`` (under ``fxlab/data/``) and ``what`` it is. All are
44.1 kHz except the speech (16 kHz)."""


def list_recordings(kind: str | None = None) -> list[str]:
    """Names of the shipped recordings, all or of one ``kind`` (``"instrument"``, ``"speech"``)."""
    if kind is not None and kind not in KINDS:
        raise unknown_name("recording kind", kind, KINDS)
    return [n for n, r in RECORDINGS.items() if kind is None or r["kind"] == kind]


def recording_path(name: str) -> Path:
    """The file of recording ``name`` (one of :data:`RECORDINGS`)."""
    if name not in RECORDINGS:
        raise unknown_name("recording", name, list(RECORDINGS))
    return Path(str(resources.files("fxlab") / "data" / RECORDINGS[name]["file"]))


def load_recording(name: str, *, sr: int = 44_100, peak_dbfs: float | None = None) -> np.ndarray:
    """Recording ``name`` as one channel at ``sr``.

    Parameters
    ----------
    name : str
        One of :func:`list_recordings`.
    sr : int > 0
        Sample rate wanted, Hz; the file is resampled when it differs
        (:func:`fxlab.audio.resample`).
    peak_dbfs : float or None
        Scale so the peak sits at this level, dBFS; ``None`` keeps the file's level.

    Returns
    -------
    x : np.ndarray [shape=(n,), dtype=float32]
        Stereo files are mixed to mono (the mean of the channels).
    """
    from fxlab.audio import read_wav, resample
    from fxlab.util import check_sr

    sr = check_sr(sr)
    x, file_sr = read_wav(recording_path(name), mono="mix")
    if file_sr != sr:
        x = resample(x, file_sr, sr)
    x = np.asarray(x, dtype=np.float32)
    if peak_dbfs is not None:
        peak = float(np.max(np.abs(x)))
        if peak > 0:
            x = (x * (10.0 ** (float(peak_dbfs) / 20.0) / peak)).astype(np.float32)
    return x
