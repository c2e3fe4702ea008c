"""The blind A/B listening test: trials, the rating widget, the append-only ratings store, aggregation.

The thesis (section 3.5.2 and 4.1.2) asked 9 people how similar each network's output sounded to
its target, on four answers (:data:`ANSWERS`): 1 "Not similar at all", 2 "Some similarities",
3 "Almost the same", 4 "The same". Its LSTM scored a mean of 2.25. This module makes that test
something anyone can take in JupyterLab and that the report can aggregate.

Trials
    :func:`prepare_trials` cuts one clip per split (a few seconds of the Validation 1 chunk and of the
    Validation 2 speech) from the target (``data/<split>/wet.wav``), the unprocessed input
    (``data/<split>/dry.wav``) and every model's output (``rendered/<model>/<split>.wav``),
    loudness-matches them (:func:`loudness`) and writes them as 16-bit WAV files into
    ``<run_dir>/listening/trials/``, with ``trials.json`` describing them. Every trial pairs the
    target with a *candidate*: a model's output, or one of two hidden controls, the target itself
    (``control_same``: should be rated 4) and the unprocessed input (``control_dry``: should not).
    :func:`load_trials` reads them back; :func:`rater_order` gives a rater's order and A/B sides,
    random but seeded by the rater's name and the session seed.
Ratings
    :class:`RatingsStore` appends each answer at once to a JSONL file (flushed and fsync'ed, opened
    in append mode, never rewritten). :func:`read_ratings` skips a torn line; :func:`latest_answers`
    keeps the latest answer of each rater to each trial.
Widget
    :class:`ListeningWidget` (ipywidgets): name, start, players A and B, the four answers, progress,
    back and next, a summary that reveals the sides at the end; it resumes a rater from the file.
    :func:`listening_widget` shows it when someone is at the keyboard, a note otherwise.
Aggregation
    :func:`rater_status` checks a rater's controls; :func:`aggregate` gives per model the mean answer
    with a 95% confidence interval and the count of each answer, excluding raters who failed the
    controls; :func:`write_aggregate`, :func:`aggregate_html` and :func:`plot_aggregate` put it in
    ``<run_dir>/listening/aggregate.json``, the report and a figure. :data:`THESIS_LSTM` is the
    thesis's result, shown beside ours.
Config
    :class:`ListeningConfig` is the notebook's frozen configuration (:meth:`ListeningConfig.build`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import html
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from fxlab.errors import (
    AudioFileError,
    ChannelError,
    NonFiniteError,
    ParameterError,
    SampleRateError,
    problem,
    unknown_name,
)

__all__ = [
    "ANSWERS",
    "CONTROL_SAME",
    "CONTROL_DRY",
    "CONTROLS",
    "STUDY_SR",
    "THESIS_LSTM",
    "ListeningConfig",
    "Trial",
    "TrialSet",
    "RatingsStore",
    "ListeningWidget",
    "k_weighting_coefficients",
    "loudness",
    "find_models",
    "prepare_trials",
    "load_trials",
    "rater_order",
    "normalize_rater",
    "read_ratings",
    "latest_answers",
    "rater_status",
    "mean_ci95",
    "aggregate",
    "write_aggregate",
    "aggregate_html",
    "plot_aggregate",
    "listening_widget",
    "default_ratings_path",
]

#: The thesis's four answers (section 3.5.2), by value.
ANSWERS: dict[int, str] = {
    1: "Not similar at all",
    2: "Some similarities",
    3: "Almost the same",
    4: "The same",
}

#: Hidden control: the target against itself (an attentive rater answers 4).
CONTROL_SAME = "control_same"
#: Hidden control: the target against the unprocessed input (an attentive rater does not answer 4).
CONTROL_DRY = "control_dry"
CONTROLS = (CONTROL_SAME, CONTROL_DRY)
# Names a model may not have: the clip files are target.wav, dry.wav and <model>.wav, and the
# evaluation writes the target itself to rendered/target/.
_RESERVED = frozenset({"target", "dry", *CONTROLS})

#: The study's sample rate in Hz (the same value as ``fxlab.audio.STUDY_SR``).
STUDY_SR = 44100

#: The thesis's listening result for its LSTM (384 units, 1024-sample window), section 4.1.2: 9
#: raters, one answer each on the voice clip (Validation 2). The thesis states a mean of 2.25; its
#: own counts (3, 4, 2, 0) give 17/9 = 1.89. Both are kept: ``mean_stated`` is what the thesis
#: reports, ``mean_from_counts`` what its list implies.
THESIS_LSTM: dict[str, Any] = {
    "label": "thesis LSTM 384/1024 (section 4.1.2)",
    "clip": "val2",
    "raters": 9,
    "counts": {1: 3, 2: 4, 3: 2, 4: 0},
    "mean_stated": 2.25,
    "mean_from_counts": 17 / 9,
}

_TRIALS_FORMAT = 1
_FADE_S = 0.02  # raised-cosine fade in and out on every clip (s), the same on both sides
_PEAK_CEILING = 10 ** (-1 / 20)  # -1 dBFS: the loudest clip version of a split peaks at most here
_SILENT_LUFS = -70.0  # below this a clip is called silent and is not gained up
_MAX_GAIN_DB = 30.0
_RECORD_FIELDS = ("rater", "session", "trial", "model", "clip", "side", "answer", "time")


# --------------------------------------------------------------------------------------------
# Loudness
# --------------------------------------------------------------------------------------------


def k_weighting_coefficients(sr: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The two biquads of the ITU-R BS.1770 K-weighting filter designed for sample rate ``sr``.

    Parameters
    ----------
    sr : int > 0
        Sample rate in Hz.

    Returns
    -------
    ((b_shelf, a_shelf), (b_hp, a_hp)) : each ``np.ndarray [shape=(3,)]``
        A high shelf (+4 dB above ~1.7 kHz, the head's effect) then a high-pass (~38 Hz), designed
        from the analog prototypes so that at 48 kHz they equal the standard's table.
    """
    # Bilinear transforms (tan pre-warp) of the prototypes behind the standard's 48 kHz table.
    # Shelf: +3.9998 dB, Q 0.70718, 1681.97 Hz.
    gain_db, q, fc = 3.999843853973347, 0.7071752369554196, 1681.974450955533
    k = math.tan(math.pi * fc / sr)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    b_shelf = np.array([vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    a_shelf = np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0
    # High-pass: Q 0.50033, 38.135 Hz, numerator [1, -2, 1] as in the standard's table.
    q, fc = 0.5003270373238773, 38.13547087602444
    k = math.tan(math.pi * fc / sr)
    a0 = 1 + k / q + k * k
    b_hp = np.array([1.0, -2.0, 1.0])
    a_hp = np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0
    return (b_shelf, a_shelf), (b_hp, a_hp)


def loudness(x: np.ndarray, *, sr: int) -> float:
    """Loudness of a mono signal in LUFS-like units: K-weighted, *ungated* mean square.

    The BS.1770 measure without its gates (the clips here are a few seconds of continuous sound,
    where the gates change little): ``-0.691 + 10 log10(mean(k_weighted(x)**2))``.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
        Mono signal, values in [-1, 1].
    sr : int > 0
        Sample rate in Hz.

    Returns
    -------
    float
        Loudness in dB (LUFS-like); ``-inf`` for digital silence. A full-scale 997 Hz sine reads
        about -3.0.
    """
    from scipy.signal import lfilter

    y = np.asarray(x, dtype=np.float64)
    for b, a in k_weighting_coefficients(sr):
        y = lfilter(b, a, y)
    ms = float(np.mean(y * y)) if y.size else 0.0
    return -math.inf if ms <= 0 else -0.691 + 10 * math.log10(ms)


# --------------------------------------------------------------------------------------------
# Trials
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Trial:
    """One A/B pair: the target against a candidate.

    Attributes
    ----------
    id : str
        Stable name ``"<clip>:<model>"``, e.g. ``"val2:lstm"`` or ``"val1:control_same"``.
    clip : str
        The split the clip was cut from (``"val1"`` or ``"val2"``).
    model : str
        The model whose output is the candidate, or :data:`CONTROL_SAME` / :data:`CONTROL_DRY`.
    reference : str
        Path of the target clip, relative to the ``listening`` folder.
    candidate : str
        Path of the candidate clip, relative to the ``listening`` folder.
    """

    id: str
    clip: str
    model: str
    reference: str
    candidate: str

    @property
    def is_control(self) -> bool:
        """True for the hidden controls."""
        return self.model in CONTROLS


@dataclasses.dataclass(frozen=True)
class TrialSet:
    """The trials of one listening session, as written by :func:`prepare_trials`.

    Attributes
    ----------
    root : Path
        The ``<run_dir>/listening`` folder; trial paths are relative to it.
    session : str
        The session id: a hash of the trial list and of every clip's bytes, so that two runs that
        made the same audio share a session and their ratings pool.
    trials : tuple of Trial
        In canonical order (clip, then model, then the controls); raters hear them in
        :func:`rater_order`.
    models : tuple of str
        The models under test (not the controls).
    clips : dict
        Per clip, per pair (``"controls"`` or a model name): ``start_s``, ``seconds``, the loudness
        of each side before matching (``loudness_in``) and the gain applied in dB (``gain_db``).
    options : dict
        The options the trials were made with.
    skipped : tuple of dict
        Model trials left out because the model rendered too little of the split:
        ``{"clip", "model", "seconds"}`` each.
    """

    root: Path
    session: str
    trials: tuple[Trial, ...]
    models: tuple[str, ...]
    clips: dict
    options: dict
    skipped: tuple[dict, ...] = ()

    def trial(self, trial_id: str) -> Trial:
        """The trial named ``trial_id`` (raises :class:`~fxlab.errors.UnknownNameError`)."""
        for t in self.trials:
            if t.id == trial_id:
                return t
        raise unknown_name("trial", trial_id, [t.id for t in self.trials])

    @property
    def n_controls(self) -> int:
        """Number of hidden control trials."""
        return sum(t.is_control for t in self.trials)

    def table_html(self) -> str:
        """An HTML table of the clips: where each was cut and the gain each version got."""
        rows = []
        for clip, groups in self.clips.items():
            for group, info in groups.items():
                gains = ", ".join(f"{k} {v:+.1f} dB" for k, v in info["gain_db"].items())
                rows.append(
                    f"<tr><td>{html.escape(clip)}</td><td>{html.escape(group)}</td>"
                    f"<td>{info['start_s']:.2f}</td><td>{info['seconds']:.2f}</td>"
                    f"<td>{html.escape(gains)}</td></tr>"
                )
        n_model = len(self.trials) - self.n_controls
        note = ""
        if self.skipped:
            note = (
                "<p>Left out, too short to judge by ear (under "
                f"{self.options.get('min_seconds', 0.25):.2f} s rendered): "
                + html.escape(", ".join(f"{k['model']} on {k['clip']} ({k['seconds']:.2f} s)"
                                        for k in self.skipped))
                + ". The evaluation renders the slow windowed models on a short excerpt; raise "
                "its <code>windowed_eval_seconds</code> to listen to them.</p>"
            )
        return (
            f"<p>Session <code>{html.escape(self.session)}</code>: {len(self.trials)} trials "
            f"({n_model} model trials of {len(self.models)} models on {len(self.clips)} clips; "
            f"{self.n_controls} hidden controls). Clips matched to "
            f"{self.options['loudness_lufs']:.1f} LUFS (K-weighted, ungated), then scaled "
            "together so that neither side of a pair peaks above &minus;1 dBFS.</p>"
            "<table><thead><tr><th>clip</th><th>pair (target vs)</th><th>start (s)</th>"
            "<th>length (s)</th><th>gain per version</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>" + note
        )


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_mono(path: Path, *, what: str) -> np.ndarray:
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


def find_models(run_dir: str | os.PathLike, *, splits: Sequence[str] = ("val1", "val2")) -> list[str]:
    """Names of the models that have a rendered output for every split, sorted.

    Parameters
    ----------
    run_dir : path
        A run folder holding ``rendered/<model>/<split>.wav``.
    splits : sequence of str
        The splits each model must have.

    Returns
    -------
    list of str
        Possibly empty.
    """
    rendered = Path(run_dir) / "rendered"
    if not rendered.is_dir():
        return []
    return sorted(
        d.name for d in rendered.iterdir()
        if d.is_dir() and d.name not in _RESERVED
        and all((d / f"{s}.wav").is_file() for s in splits)
    )


def _render_offsets(run_dir: Path, models: Sequence[str], splits: Sequence[str]) -> dict:
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


def _parse_names(value: str | Sequence[str], *, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        names = [v.strip() for v in value.split(",")]
    elif isinstance(value, Sequence):
        names = [str(v).strip() for v in value]
    else:
        raise ParameterError(problem(
            what, found=f"{type(value).__name__} {value!r}",
            expected="a comma-separated string or a list of names", fix=f'write e.g. {what}="a,b"',
        ))
    return tuple(n for n in names if n)


def _loudest_window(x: np.ndarray, n_win: int, hop: int) -> int:
    if x.size <= n_win:
        return 0
    c = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    starts = np.arange(0, x.size - n_win + 1, hop)
    energy = c[starts + n_win] - c[starts]
    return int(starts[int(np.argmax(energy))])


def _fade(x: np.ndarray, sr: int) -> np.ndarray:
    n = min(int(_FADE_S * sr), x.size // 2)
    y = x.astype(np.float64).copy()
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
    return y


def prepare_trials(
    run_dir: str | os.PathLike,
    *,
    models: str | Sequence[str] = "",
    splits: str | Sequence[str] = ("val1", "val2"),
    clip_seconds: float = 3.0,
    loudness_lufs: float = -23.0,
    min_seconds: float = 0.25,
) -> TrialSet:
    """Cut, loudness-match and write the clips of the listening test; describe them in trials.json.

    For each split and each model, a window of ``clip_seconds`` is cut from the target and the
    model's output where the target is loudest (on a 0.25 s grid), inside the stretch the model
    rendered: the evaluation renders some models on an excerpt and records its start in
    ``metrics.json`` (``models.<name>.splits.<split>.start_s``; absent: the output starts at the
    split's first sample); a shorter output gives a shorter clip. The controls' window (target and
    unprocessed input) is chosen the same way on the whole split. Every version gets a 20 ms
    raised-cosine fade in and out, then a gain that brings its :func:`loudness` to
    ``loudness_lufs``; if either side of a pair would then peak above -1 dBFS, both are scaled down
    together (their loudness stays matched). Silent versions (below -70 LUFS) are not gained up;
    gains are capped at +30 dB.

    A model that rendered less than ``min_seconds`` of a split (the evaluation renders the slow
    windowed models on a short excerpt in the quick profiles) is too short to judge by ear: when
    ``models=""`` its trial on that split is skipped and listed in ``TrialSet.skipped``; when it was
    asked for by name, that is an error.

    The result is cached: if ``trials.json`` already describes the same sources and options, nothing
    is rewritten.

    Parameters
    ----------
    run_dir : path
        Run folder with ``data/<split>/{dry,wet}.wav`` and ``rendered/<model>/<split>.wav``
        (float32 mono 44.1 kHz).
    models : str or sequence of str
        Models to test (comma-separated string or list); ``""`` means every model rendered for all
        the splits.
    splits : str or sequence of str
        The clips' splits, ``"val1"`` (synthetic) and/or ``"val2"`` (speech).
    clip_seconds : float in [0.25, 30]
        Length of each clip in seconds.
    loudness_lufs : float in [-60, -6]
        The loudness every version is matched to.
    min_seconds : float in [0.01, 30]
        Shortest clip worth a trial, in seconds (capped at ``clip_seconds``).

    Returns
    -------
    TrialSet
        Written to ``<run_dir>/listening/trials.json`` and, per clip, ``trials/<clip>/<model>.wav``
        with its target ``trials/<clip>/<model>.target.wav``, and ``controls.target.wav`` /
        ``controls.wav`` (the unprocessed input): 16-bit PCM, 44.1 kHz, mono.
    """
    run_dir = Path(run_dir)
    splits_t = _parse_names(splits, what="splits")
    if not splits_t:
        raise ParameterError(problem(
            "splits", found="no split", expected="at least one of val1, val2",
            fix='pass splits="val1,val2"',
        ))
    for s in splits_t:
        if s not in ("val1", "val2"):
            raise unknown_name("split", s, ["val1", "val2"])
    if not (isinstance(clip_seconds, int | float) and 0.25 <= float(clip_seconds) <= 30):
        raise ParameterError(problem(
            "clip_seconds", found=repr(clip_seconds), expected="a number of seconds in [0.25, 30]",
            fix="pass clip_seconds=3.0 (the thesis's raters heard a few seconds)",
        ))
    if not (isinstance(loudness_lufs, int | float) and -60 <= float(loudness_lufs) <= -6):
        raise ParameterError(problem(
            "loudness_lufs", found=repr(loudness_lufs), expected="a level in [-60, -6] LUFS",
            fix="pass loudness_lufs=-23.0 (the broadcast reference level)",
        ))
    if not (isinstance(min_seconds, int | float) and 0.01 <= float(min_seconds) <= 30):
        raise ParameterError(problem(
            "min_seconds", found=repr(min_seconds), expected="a number of seconds in [0.01, 30]",
            fix="pass min_seconds=0.25",
        ))
    if not run_dir.is_dir():
        raise AudioFileError(problem(
            run_dir, found="no such folder", expected="a run folder (reports/<run-id>)",
            fix="run the study first (fxlab run --profile quick) or pass the run folder it made",
        ))
    available = find_models(run_dir, splits=splits_t)
    wanted = _parse_names(models, what="models")
    by_name = bool(wanted)
    if not wanted:
        if not available:
            raise AudioFileError(problem(
                run_dir / "rendered", found="no model with a rendered output for "
                + " and ".join(splits_t),
                expected="rendered/<model>/<split>.wav for each model",
                fix="run 01_synthesize_data to 03_evaluate for this run folder first, or `make "
                    "report` (opened by hand, this notebook then finds the newest run through "
                    "reports/latest)",
            ))
        wanted = tuple(available)
    for m in wanted:
        if m in _RESERVED:
            raise ParameterError(problem(
                f"model {m!r}", found="a name reserved for the target, the input or the controls",
                expected="a model name other than " + ", ".join(sorted(_RESERVED)),
                fix="rename the model",
            ))
        if m not in available:
            raise unknown_name("model (rendered for " + ", ".join(splits_t) + ")", m, available)

    sources: dict[str, dict[str, Path]] = {}
    for s in splits_t:
        sources[s] = {
            "target": run_dir / "data" / s / "wet.wav",
            "dry": run_dir / "data" / s / "dry.wav",
            **{m: run_dir / "rendered" / m / f"{s}.wav" for m in wanted},
        }
    offsets = _render_offsets(run_dir, wanted, splits_t)
    options = {
        "models": list(wanted) if by_name else "all", "splits": list(splits_t),
        "clip_seconds": float(clip_seconds),
        "loudness_lufs": float(loudness_lufs), "format": _TRIALS_FORMAT,
        "render_offsets": offsets, "min_seconds": float(min_seconds),
    }
    for s, paths in sources.items():
        for name, p in paths.items():
            if not p.is_file():
                what = "the target" if name == "target" else (
                    "the unprocessed input" if name == "dry" else f"model {name}'s output")
                _read_mono(p, what=f"{what} of split {s} (float32 mono {STUDY_SR} Hz WAV)")
    source_hashes = {
        s: {name: _sha256_file(p) for name, p in paths.items()} for s, paths in sources.items()
    }
    root = run_dir / "listening"
    manifest_path = root / "trials.json"
    if manifest_path.is_file():
        try:
            old = json.loads(manifest_path.read_text())
            if (old.get("options") == options and old.get("sources") == source_hashes
                    and all(_sha256_file(root / f) == h for f, h in old["files"].items())):
                return load_trials(run_dir)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable or stale: rebuild below

    sr = STUDY_SR
    clips: dict[str, dict] = {}
    files: dict[str, str] = {}
    trials: list[Trial] = []
    n_clip = int(round(clip_seconds * sr))
    n_min = min(int(round(min_seconds * sr)), n_clip)
    skipped: list[dict] = []
    if stale := sorted((root / "trials").glob("*/*.wav")) if (root / "trials").is_dir() else []:
        for f in stale:  # clips of an older recipe (files this function wrote)
            f.unlink()
    for s, paths in sources.items():
        versions = {}
        for name, p in paths.items():
            what = "the target" if name == "target" else (
                "the unprocessed input" if name == "dry" else f"model {name}'s output")
            versions[name] = _read_mono(p, what=f"{what} of split {s}")
        n_split = min(versions["target"].size, versions["dry"].size)
        (root / "trials" / s).mkdir(parents=True, exist_ok=True)
        clips[s] = {}
        # one window per group: the controls (target, dry) on the whole split; each model on the
        # stretch it rendered (the evaluation renders some models on an excerpt)
        groups = {"controls": ("dry", 0, n_split)}
        for m in wanted:
            off = offsets[s][m]
            groups[m] = (m, off, min(off + versions[m].size, n_split))
        for group, (other, lo, hi) in groups.items():
            if hi - lo < n_min:
                if group != "controls" and not by_name:
                    skipped.append({"clip": s, "model": group, "seconds": max(hi - lo, 0) / sr})
                    continue
                raise AudioFileError(problem(
                    paths[other], found=f"{max(hi - lo, 0) / sr:.3f} s that overlap the target",
                    expected=f"at least min_seconds = {n_min / sr:.2f} s to listen to",
                    fix="render a longer excerpt (03_evaluate's windowed_eval_seconds), lower "
                        'min_seconds, or leave the model out (models="...")',
                ))
            n_win = min(n_clip, hi - lo)
            start = lo + _loudest_window(versions["target"][lo:hi], n_win, hop=sr // 4)
            off = 0 if other == "dry" else groups[other][1]
            cut = {
                "target": _fade(versions["target"][start:start + n_win], sr),
                other: _fade(versions[other][start - off:start - off + n_win], sr),
            }
            lufs_in = {k: loudness(v, sr=sr) for k, v in cut.items()}
            gains = {k: 0.0 if lv < _SILENT_LUFS else min(float(loudness_lufs) - lv, _MAX_GAIN_DB)
                     for k, lv in lufs_in.items()}
            peak = max(float(np.max(np.abs(v))) * 10 ** (gains[k] / 20) for k, v in cut.items())
            if peak > _PEAK_CEILING:
                common = 20 * math.log10(_PEAK_CEILING / peak)
                gains = {k: g + common for k, g in gains.items()}
            rel = {"target": f"trials/{s}/{group}.target.wav", other: f"trials/{s}/{group}.wav"}
            for k, v in cut.items():
                y = np.clip(v * 10 ** (gains[k] / 20), -1.0, 1.0).astype(np.float32)
                sf.write(root / rel[k], y, sr, subtype="PCM_16")
                files[rel[k]] = _sha256_file(root / rel[k])
            clips[s][group] = {
                "start_s": start / sr, "seconds": n_win / sr,
                "loudness_in": {k: (None if math.isinf(v) else round(v, 3))
                                for k, v in lufs_in.items()},
                "gain_db": {k: round(g, 3) for k, g in gains.items()},
            }
            ref = rel["target"]
            if group == "controls":
                trials.append(Trial(f"{s}:{CONTROL_SAME}", s, CONTROL_SAME, ref, ref))
                trials.append(Trial(f"{s}:{CONTROL_DRY}", s, CONTROL_DRY, ref, rel["dry"]))
            else:
                trials.append(Trial(f"{s}:{group}", s, group, ref, rel[group]))

    tested = tuple(m for m in wanted if any(t.model == m for t in trials))
    if not tested:
        raise AudioFileError(problem(
            run_dir / "rendered", found="every model's output shorter than min_seconds = "
            f"{n_min / sr:.2f} s (" + ", ".join(
                f"{k['model']} {k['seconds']:.3f} s of {k['clip']}" for k in skipped) + ")",
            expected="at least one model rendered long enough to listen to",
            fix="render longer excerpts (03_evaluate's windowed_eval_seconds) or lower min_seconds",
        ))
    digest = hashlib.sha256(json.dumps(
        {"trials": [dataclasses.asdict(t) for t in trials], "files": files}, sort_keys=True,
    ).encode()).hexdigest()
    session = "s-" + digest[:12]
    from fxlab import __version__

    doc = {
        "format": _TRIALS_FORMAT, "session": session, "run_dir": str(run_dir),
        "options": options, "sources": source_hashes, "files": files, "clips": clips,
        "models": list(tested), "skipped": skipped,
        "trials": [dataclasses.asdict(t) for t in trials],
        "fxlab_version": __version__,
    }
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, manifest_path)
    return load_trials(run_dir)


def load_trials(run_dir: str | os.PathLike) -> TrialSet:
    """Read ``<run_dir>/listening/trials.json`` written by :func:`prepare_trials`.

    Parameters
    ----------
    run_dir : path
        A run folder, or its ``listening`` folder.

    Returns
    -------
    TrialSet
    """
    run_dir = Path(run_dir)
    root = run_dir if (run_dir / "trials.json").is_file() else run_dir / "listening"
    path = root / "trials.json"
    try:
        doc = json.loads(path.read_text())
        trials = tuple(Trial(**t) for t in doc["trials"])
        return TrialSet(root=root, session=doc["session"], trials=trials,
                        models=tuple(doc["models"]), clips=doc["clips"], options=doc["options"],
                        skipped=tuple(doc.get("skipped", ())))
    except FileNotFoundError as err:
        raise AudioFileError(problem(
            path, found="no such file", expected="the trials of the listening test",
            fix="run fxlab.listening.prepare_trials(run_dir) (notebook 04_listening_test) first",
        )) from err
    except (ValueError, KeyError, TypeError) as err:
        raise AudioFileError(problem(
            path, found=f"a file that is not a trial list ({err})",
            expected="trials.json written by fxlab.listening.prepare_trials",
            fix="delete it and run prepare_trials(run_dir) again",
        )) from err


def normalize_rater(name: object) -> str:
    """A rater's name with surrounding and repeated spaces removed (raises if empty or not text)."""
    if not isinstance(name, str) or not " ".join(name.split()):
        raise ParameterError(problem(
            "rater name", found=repr(name), expected="a non-empty name",
            fix="type your name (or a nickname you will reuse to resume) in the name field",
        ))
    return " ".join(name.split())


def rater_order(trial_set: TrialSet, rater: str, *, seed: int) -> list[tuple[str, str]]:
    """The order in which ``rater`` hears the trials, and on which side the candidate plays.

    Random but reproducible: the generator is seeded by SHA-256 of ``"<seed>:<rater>"``, so the same
    rater with the same session seed always gets the same order and sides, and different raters
    get different ones.

    Parameters
    ----------
    trial_set : TrialSet
    rater : str
        The rater's name (normalized by :func:`normalize_rater`).
    seed : int
        The session seed (the notebook's ``seed``).

    Returns
    -------
    list of (trial_id, side)
        One entry per trial; ``side`` is ``"A"`` or ``"B"``, where the candidate (model output or
        control) plays; the target plays on the other side.
    """
    rater = normalize_rater(rater)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ParameterError(problem(
            "seed", found=repr(seed), expected="an integer", fix="pass seed=0",
        ))
    key = hashlib.sha256(f"{int(seed)}:{rater}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(key[:8], "little"))
    perm = rng.permutation(len(trial_set.trials))
    sides = rng.integers(0, 2, size=len(trial_set.trials))
    return [(trial_set.trials[int(i)].id, "AB"[int(s)]) for i, s in zip(perm, sides, strict=True)]


# --------------------------------------------------------------------------------------------
# Ratings store
# --------------------------------------------------------------------------------------------


def default_ratings_path(run_dir: str | os.PathLike) -> Path:
    """Where ratings live by default: ``<reports>/listening/ratings.jsonl`` beside the run folders.

    ``run_dir`` is ``reports/<run-id>``, so this is ``reports/listening/ratings.jsonl``: one file
    shared by every run, so that ratings given in JupyterLab appear in the next ``make report``.
    """
    return Path(run_dir).parent / "listening" / "ratings.jsonl"


def _valid_record(rec: object) -> bool:
    return (
        isinstance(rec, dict)
        and all(k in rec for k in _RECORD_FIELDS)
        and isinstance(rec["answer"], int) and not isinstance(rec["answer"], bool)
        and rec["answer"] in ANSWERS
        and isinstance(rec["rater"], str) and isinstance(rec["trial"], str)
    )


def read_ratings(path: str | os.PathLike) -> tuple[list[dict], int]:
    """Read a ratings JSONL file, skipping lines that are torn or not a rating.

    Parameters
    ----------
    path : path
        The ratings file (it may not exist yet).

    Returns
    -------
    (records, skipped) : (list of dict, int)
        The valid records in file order (which is the order they were given) and the number of
        lines skipped (a crash mid-write leaves at most one torn line).
    """
    path = Path(path)
    if not path.exists():
        return [], 0
    records, skipped = [], 0
    data = path.read_bytes()
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            skipped += 1
            continue
        if _valid_record(rec):
            records.append(rec)
        else:
            skipped += 1
    return records, skipped


class RatingsStore:
    """An append-only JSONL file of answers, safe against crashes.

    Each :meth:`append` writes one JSON object and a newline with a single ``write`` on a file
    descriptor opened with ``O_APPEND``, then ``fsync``\\ s it (and the folder, when the file is
    new). Nothing is ever rewritten: the bytes before an append are a prefix of the bytes after.
    If the file ends in a torn line (a crash mid-write), the next append first ends that line, so
    the torn fragment stays one skipped line and never swallows a good record.

    Parameters
    ----------
    path : path
        The JSONL file; its folder is created if needed.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def append(self, record: Mapping[str, Any]) -> dict:
        """Append one rating; returns the record as written (with ``time`` added if missing).

        ``record`` needs ``rater, session, trial, model, clip, side, answer`` (answer in 1..4);
        ``time`` (ISO 8601 UTC) is added when absent. Other keys are kept.
        """
        rec = dict(record)
        rec.setdefault("time", _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"))
        if not _valid_record(rec):
            missing = [k for k in _RECORD_FIELDS if k not in rec]
            raise ParameterError(problem(
                "rating", found=f"{rec!r}" + (f" (missing {', '.join(missing)})" if missing else ""),
                expected="fields " + ", ".join(_RECORD_FIELDS) + " with answer an int in 1..4",
                fix="pass every field; answer is 1 (Not similar at all) to 4 (The same)",
            ))
        line = (json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        is_new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(self.path, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        line = b"\n" + line  # end a torn last line first
            view = memoryview(line)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if is_new:
            _fsync_dir(self.path.parent)
        return rec

    def read(self) -> list[dict]:
        """The valid records in file order (see :func:`read_ratings`)."""
        return read_ratings(self.path)[0]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def latest_answers(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], dict]:
    """The latest record of each (rater, session, trial): a changed answer replaces the earlier one.

    Parameters
    ----------
    records : iterable of dict
        In file order (later lines are later answers).

    Returns
    -------
    dict
        ``{(rater, session, trial): record}``.
    """
    out: dict[tuple[str, str, str], dict] = {}
    for rec in records:
        out[(rec["rater"], rec["session"], rec["trial"])] = dict(rec)
    return out


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------


def rater_status(latest: Iterable[Mapping[str, Any]]) -> dict:
    """Whether one rater passed the hidden controls of one session.

    Rule (the controls' purpose, section 3.5.2's scale): the target against itself must be rated 4
    ("The same") and the target against the unprocessed input must not be rated 4. Any violation
    is ``"failed"``; no violation but controls still unanswered is ``"incomplete"``; every control
    answered and none violated is ``"passed"``. Only passed raters enter the aggregate.

    Parameters
    ----------
    latest : iterable of dict
        The rater's latest records in one session (see :func:`latest_answers`); each carries
        ``session_controls`` (how many controls the session has) when written by the widget.

    Returns
    -------
    dict
        ``status``, ``answered`` (trials), ``controls_answered``, ``controls_expected``,
        ``failures`` (list of ``"<trial>=<answer>"``).
    """
    latest = list(latest)
    failures, controls = [], 0
    expected = max((int(r.get("session_controls", 0)) for r in latest), default=0)
    for r in latest:
        if r["model"] == CONTROL_SAME:
            controls += 1
            if r["answer"] != 4:
                failures.append(f"{r['trial']}={r['answer']}")
        elif r["model"] == CONTROL_DRY:
            controls += 1
            if r["answer"] == 4:
                failures.append(f"{r['trial']}={r['answer']}")
    expected = max(expected, controls)
    if failures:
        status = "failed"
    elif controls == 0 or controls < expected:
        status = "incomplete"
    else:
        status = "passed"
    return {"status": status, "answered": len(latest), "controls_answered": controls,
            "controls_expected": expected, "failures": failures}


def mean_ci95(answers: Sequence[int]) -> dict:
    """Mean answer, its 95% confidence interval and the count of each answer.

    The interval is Student's t: ``mean ± t(0.975, n-1) · s / sqrt(n)`` with ``s`` the sample
    standard deviation; each answer counts as one observation (several answers of one rater are
    treated as independent, as the thesis's single-clip count was). It is not clipped to [1, 4].

    Parameters
    ----------
    answers : sequence of int in 1..4

    Returns
    -------
    dict
        ``n``, ``mean``, ``sd``, ``ci95`` (``[low, high]``; ``None`` when n < 2 or when n == 0),
        ``counts`` (``{1: n1, 2: n2, 3: n3, 4: n4}``).
    """
    from scipy.stats import t as student_t

    a = np.asarray(list(answers), dtype=np.float64)
    counts = {k: int(np.sum(a == k)) for k in ANSWERS}
    n = int(a.size)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "ci95": None, "counts": counts}
    mean = float(a.mean())
    if n < 2:
        return {"n": n, "mean": mean, "sd": None, "ci95": None, "counts": counts}
    sd = float(a.std(ddof=1))
    half = float(student_t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "ci95": [mean - half, mean + half], "counts": counts}


def aggregate(
    records: Iterable[Mapping[str, Any]],
    *,
    session: str | None = None,
    skipped_lines: int = 0,
) -> dict:
    """Aggregate ratings per model: mean, 95% CI, answer counts; raters who failed controls excluded.

    Parameters
    ----------
    records : iterable of dict
        Ratings in file order (:func:`read_ratings`); a changed answer counts once, the latest.
    session : str or None
        Only this session's ratings; ``None`` pools every session (models are matched by name:
        runs of the same profile and seed make the same models).
    skipped_lines : int
        Torn or invalid lines skipped on reading, reported as is.

    Returns
    -------
    dict
        ``pending`` (True when no passed rater answered a model trial), ``raters`` (per rater and
        session: status and control answers), ``models`` (per model: :func:`mean_ci95` plus
        ``raters``), ``by_clip`` (per model and clip), ``excluded`` (raters not counted), and
        ``thesis`` (:data:`THESIS_LSTM` with its interval from its counts).
    """
    records = [dict(r) for r in records]
    if session is not None:
        records = [r for r in records if r["session"] == session]
    latest = latest_answers(records)
    by_rater: dict[tuple[str, str], list[dict]] = {}
    for (rater, sess, _trial), rec in latest.items():
        by_rater.setdefault((rater, sess), []).append(rec)
    raters = []
    passed = set()
    for (rater, sess), recs in sorted(by_rater.items()):
        st = rater_status(recs)
        raters.append({"rater": rater, "session": sess, **st})
        if st["status"] == "passed":
            passed.add((rater, sess))
    answers: dict[str, list[int]] = {}
    clip_answers: dict[str, dict[str, list[int]]] = {}
    model_raters: dict[str, set] = {}
    for (rater, sess, _trial), rec in latest.items():
        if (rater, sess) not in passed or rec["model"] in CONTROLS:
            continue
        answers.setdefault(rec["model"], []).append(int(rec["answer"]))
        clip_answers.setdefault(rec["model"], {}).setdefault(rec["clip"], []).append(
            int(rec["answer"]))
        model_raters.setdefault(rec["model"], set()).add(rater)
    models = {m: {**mean_ci95(a), "raters": len(model_raters[m])} for m, a in sorted(answers.items())}
    by_clip = {m: {c: mean_ci95(a) for c, a in sorted(cl.items())}
               for m, cl in sorted(clip_answers.items())}
    thesis_answers = [k for k, c in THESIS_LSTM["counts"].items() for _ in range(c)]
    thesis = {**THESIS_LSTM, "from_counts": mean_ci95(thesis_answers)}
    return {
        "pending": not models,
        "scale": {str(k): v for k, v in ANSWERS.items()},
        "rule": "a rater counts only if every 'target vs itself' control is rated 4 and no "
                "'target vs unprocessed input' control is rated 4, with every control answered",
        "session": session,
        "sessions": sorted({s for _, s in by_rater}),
        "n_records": len(records),
        "skipped_lines": int(skipped_lines),
        "raters": raters,
        "excluded": [r for r in raters if r["status"] != "passed"],
        "models": models,
        "by_clip": by_clip,
        "thesis": thesis,
    }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_aggregate(
    run_dir: str | os.PathLike,
    *,
    ratings_path: str | os.PathLike,
    session: str | None = None,
    pool_sessions: bool = True,
) -> dict:
    """Read the ratings, :func:`aggregate` them and write ``<run_dir>/listening/aggregate.json``.

    Parameters
    ----------
    run_dir : path
        The run folder.
    ratings_path : path
        The shared ratings file (it may not exist yet: the result is then pending).
    session : str or None
        This run's session id (recorded as ``current_session``).
    pool_sessions : bool
        True: aggregate every session in the file; False: only ``session``.

    Returns
    -------
    dict
        The aggregate (also written), with ``ratings_path`` and ``current_session`` added.
    """
    records, skipped = read_ratings(ratings_path)
    agg = aggregate(records, session=None if pool_sessions else session, skipped_lines=skipped)
    agg["ratings_path"] = str(ratings_path)
    agg["current_session"] = session
    out = Path(run_dir) / "listening" / "aggregate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_jsonable(agg), indent=2))
    os.replace(tmp, out)
    return agg


def _fmt_ci(stats: Mapping[str, Any]) -> str:
    if stats["mean"] is None:
        return "&ndash;"
    if stats["ci95"] is None:
        return f"{stats['mean']:.2f}"
    lo, hi = stats["ci95"]
    return f"{stats['mean']:.2f} [{lo:.2f}, {hi:.2f}]"


def _how_to(ratings_path: str) -> str:
    return (
        "<p><b>How to take the test:</b> start JupyterLab in the project folder "
        "(<code>jupyter lab</code>), open <code>notebooks/04_listening_test.ipynb</code>, run all "
        "cells, type your name and press <i>Start</i>. Listen to A and B (headphones, a quiet room) "
        "and answer how similar they sound. Each answer is saved at once to "
        f"<code>{html.escape(ratings_path)}</code>; the next <code>make report</code> includes it. "
        "Reopening the notebook with the same name resumes where you stopped.</p>"
    )


def aggregate_html(agg: Mapping[str, Any]) -> str:
    """The listening section of the report: table per model beside the thesis, raters, or pending.

    Parameters
    ----------
    agg : dict
        From :func:`aggregate` or :func:`write_aggregate`.

    Returns
    -------
    str
        HTML.
    """
    ratings_path = str(agg.get("ratings_path", "reports/listening/ratings.jsonl"))
    th = agg["thesis"]
    tc = th["counts"]
    thesis_row = (
        f"<tr><td>{html.escape(th['label'])}</td><td>{th['raters']}</td><td>{th['raters']}</td>"
        f"<td>{th['mean_stated']:.2f} as stated ({_fmt_ci(th['from_counts'])} from its counts)</td>"
        + "".join(f"<td>{tc[k] if k in tc else tc[str(k)]}</td>" for k in ANSWERS) + "</tr>"
    )
    head = (
        "<table><thead><tr><th>model</th><th>raters</th><th>answers</th>"
        "<th>mean [95% CI]</th>" + "".join(f"<th>{k}: {v}</th>" for k, v in ANSWERS.items())
        + "</tr></thead><tbody>"
    )
    parts = []
    if agg["pending"]:
        parts.append(
            "<p><b>Listening test pending:</b> no rater who passed the hidden controls has "
            f"answered yet ({agg['n_records']} ratings in the file, "
            f"{len(agg['raters'])} rater session(s)).</p>" + _how_to(ratings_path)
        )
        parts.append("<p>The thesis's result, for comparison:</p>" + head + thesis_row
                     + "</tbody></table>")
    else:
        rows = []
        for m, s in agg["models"].items():
            rows.append(
                f"<tr><td>{html.escape(m)}</td><td>{s['raters']}</td><td>{s['n']}</td>"
                f"<td>{_fmt_ci(s)}</td>"
                + "".join(f"<td>{s['counts'][k] if k in s['counts'] else s['counts'][str(k)]}</td>"
                          for k in ANSWERS) + "</tr>"
            )
        parts.append(
            "<p>Mean answer on the thesis's scale (1 = Not similar at all &hellip; 4 = The same) "
            "per model, over raters who passed the hidden controls; 95% Student-t intervals treat "
            "each answer as one observation. The thesis asked about one voice clip; we ask about a "
            "Validation 1 chunk and the Validation 2 speech.</p>" + head + "".join(rows)
            + thesis_row + "</tbody></table>"
        )
        by_clip = agg.get("by_clip", {})
        if by_clip:
            cells = []
            for m, cl in by_clip.items():
                cells.append(f"<tr><td>{html.escape(m)}</td>" + "".join(
                    f"<td>{html.escape(c)}: {_fmt_ci(s)} (n={s['n']})</td>" for c, s in cl.items()
                ) + "</tr>")
            parts.append("<p>Per clip:</p><table><tbody>" + "".join(cells) + "</tbody></table>")
        parts.append(_how_to(ratings_path))
    if agg["raters"]:
        rows = "".join(
            f"<tr><td>{html.escape(r['rater'])}</td><td><code>{html.escape(r['session'])}</code></td>"
            f"<td>{r['status']}{' (excluded)' if r['status'] != 'passed' else ''}</td>"
            f"<td>{r['answered']}</td><td>{r['controls_answered']}/{r['controls_expected']}</td>"
            f"<td>{html.escape(', '.join(r['failures'])) or '&ndash;'}</td></tr>"
            for r in agg["raters"]
        )
        parts.append(
            "<p>Raters: " + html.escape(agg["rule"]) + ".</p><table><thead><tr><th>rater</th>"
            "<th>session</th><th>status</th><th>answered</th><th>controls</th>"
            "<th>failed controls</th></tr></thead><tbody>" + rows + "</tbody></table>"
        )
    if agg.get("skipped_lines"):
        parts.append(f"<p>{agg['skipped_lines']} torn or invalid line(s) in the ratings file "
                     "were skipped.</p>")
    return "\n".join(parts)


def plot_aggregate(agg: Mapping[str, Any], *, path: str | os.PathLike | None = None):
    """Figure: mean answer with 95% CI per model beside the thesis's LSTM, and answer shares.

    Parameters
    ----------
    agg : dict
        From :func:`aggregate`.
    path : path or None
        Where to save it as PNG (folder created); ``None`` does not save.

    Returns
    -------
    matplotlib.figure.Figure
        Left: mean answer (1..4) with its interval, ours in blue, the thesis's stated mean as a
        red diamond (its count-implied mean as a hollow one). Right: share of each answer per row.
    """
    from matplotlib.figure import Figure

    models = agg["models"]
    th = agg["thesis"]
    labels = list(models) + ["thesis LSTM"]
    # A bare Figure (not pyplot): nothing is shown twice in a notebook, nothing needs a display.
    fig = Figure(figsize=(10, 0.6 * len(labels) + 2.2))
    ax0, ax1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    y = np.arange(len(labels))[::-1]
    for yi, m in zip(y[:-1], models, strict=True):
        s = models[m]
        if s["ci95"] is not None:
            lo, hi = s["ci95"]
            ax0.errorbar(s["mean"], yi, xerr=[[s["mean"] - lo], [hi - s["mean"]]], fmt="o",
                         color="C0", capsize=4)
        else:
            ax0.plot(s["mean"], yi, "o", color="C0")
        ax0.annotate(f"{s['mean']:.2f} (n={s['n']})", (s["mean"], yi), textcoords="offset points",
                     xytext=(0, 8), ha="center", fontsize=8)
    fc = th["from_counts"]
    ax0.errorbar(fc["mean"], y[-1], xerr=[[fc["mean"] - fc["ci95"][0]], [fc["ci95"][1] - fc["mean"]]],
                 fmt="D", mfc="none", color="C3", capsize=4, label="thesis, from its counts")
    ax0.plot(th["mean_stated"], y[-1], "D", color="C3", label="thesis, stated mean 2.25")
    ax0.set_yticks(y, labels)
    ax0.set_xlim(0.8, 4.2)
    ax0.set_xticks(list(ANSWERS), [f"{k}\n{v}" for k, v in ANSWERS.items()], fontsize=8)
    ax0.set_xlabel("mean answer, 95% CI")
    ax0.grid(axis="x", alpha=0.3)
    ax0.legend(fontsize=7, loc="lower right")
    if agg["pending"]:
        ax0.set_title("Listening test pending: no ratings yet", fontsize=10)
    else:
        ax0.set_title("How similar to the target? (raters who passed the controls)", fontsize=10)
    rows = [models[m]["counts"] for m in models] + [th["counts"]]
    left = np.zeros(len(labels))
    colors = ["#d7301f", "#fc8d59", "#91bfdb", "#4575b4"]
    for k, col in zip(ANSWERS, colors, strict=True):
        vals = np.array([r.get(k, r.get(str(k), 0)) for r in rows], dtype=float)
        tot = np.array([max(sum(int(v) for v in r.values()), 1) for r in rows], dtype=float)
        share = vals / tot
        ax1.barh(y, share, left=left, color=col, label=f"{k} {ANSWERS[k]}")
        left += share
    ax1.set_yticks(y, [""] * len(labels))
    ax1.set_xlim(0, 1)
    ax1.set_xlabel("share of answers")
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig


# --------------------------------------------------------------------------------------------
# Widget
# --------------------------------------------------------------------------------------------


class ListeningWidget:
    """The blind A/B rating widget (ipywidgets) for one :class:`TrialSet`.

    A rater types a name (CSS class ``fxlab-rater``) and presses Start (``fxlab-start``). Each
    trial shows players A and B (``fxlab-audio-a``, ``fxlab-audio-b``: HTML audio elements), the
    question, the four answers as buttons (``fxlab-answer-1`` … ``fxlab-answer-4``, labelled with
    the thesis's wording), the progress "trial 3 of 12" (``fxlab-progress``), Back and Next
    (``fxlab-back``, ``fxlab-next``) and a status line (``fxlab-status``). Clicking an answer saves
    it at once (:class:`RatingsStore`) and moves on. When every trial is answered, a summary
    (``fxlab-summary``) reveals which side was the model. Starting again with the same name resumes
    at the first unanswered trial, from the ratings file.

    Parameters
    ----------
    trial_set : TrialSet
    ratings_path : path
        The shared JSONL file of answers.
    seed : int
        Session seed: with the rater's name it fixes the order and the sides.
    """

    def __init__(self, trial_set: TrialSet, *, ratings_path: str | os.PathLike, seed: int):
        import ipywidgets as w

        self.trial_set = trial_set
        self.store = RatingsStore(ratings_path)
        self.seed = seed
        self.rater: str | None = None
        self.order: list[tuple[str, str]] = []
        self.answers: dict[str, int] = {}
        self.position = 0
        self.finished = False
        self._audio_cache: dict[str, bytes] = {}

        def cls(widget, name):
            widget.add_class(name)
            return widget

        self.title = w.HTML(
            "<b>Blind listening test.</b> For each trial, listen to A and B and answer: how "
            "similar do they sound? One of them is the target (the real effect); the other is a "
            "network's output, or a check. Use headphones. Your answers are saved as you click."
        )
        self.name = cls(w.Text(placeholder="your name", description="Rater:"), "fxlab-rater")
        self.start = cls(w.Button(description="Start", button_style="primary",
                                  tooltip="start or resume your session"), "fxlab-start")
        self.progress = cls(w.HTML(""), "fxlab-progress")
        self.audio_a = cls(w.Audio(value=b"", format="wav", autoplay=False, controls=True,
                                   loop=False), "fxlab-audio-a")
        self.audio_b = cls(w.Audio(value=b"", format="wav", autoplay=False, controls=True,
                                   loop=False), "fxlab-audio-b")
        self.question = w.HTML("<b>How similar are A and B?</b>")
        self.answer_buttons = [
            cls(w.Button(description=f"{k} {label}", tooltip=f"answer {k}: {label}",
                         layout=w.Layout(width="auto")), f"fxlab-answer-{k}")
            for k, label in ANSWERS.items()
        ]
        self.back = cls(w.Button(description="Back", icon="arrow-left"), "fxlab-back")
        self.next = cls(w.Button(description="Next", icon="arrow-right"), "fxlab-next")
        self.status = cls(w.HTML(""), "fxlab-status")
        self.summary = cls(w.HTML(""), "fxlab-summary")
        players = w.HBox([
            w.VBox([w.HTML("<b>A</b>"), self.audio_a]),
            w.VBox([w.HTML("<b>B</b>"), self.audio_b]),
        ], layout=w.Layout(gap="24px"))
        self.trial_box = w.VBox([
            self.progress, players, self.question, w.HBox(self.answer_buttons),
            w.HBox([self.back, self.next]),
        ], layout=w.Layout(display="none"))
        self.widget = cls(w.VBox([
            self.title, w.HBox([self.name, self.start]), self.trial_box, self.status, self.summary,
        ]), "fxlab-listening")
        self.start.on_click(lambda _b: self.begin(self.name.value))
        for k, b in zip(ANSWERS, self.answer_buttons, strict=True):
            b.on_click(lambda _b, k=k: self.answer(k))
        self.back.on_click(lambda _b: self.go(self.position - 1))
        self.next.on_click(lambda _b: self.go(self.position + 1))

    # -- state ------------------------------------------------------------------------------

    def _load_answers(self) -> dict[str, int]:
        latest = latest_answers(self.store.read())
        return {t: int(r["answer"]) for (rater, sess, t), r in latest.items()
                if rater == self.rater and sess == self.trial_set.session}

    def begin(self, name: str) -> None:
        """Start or resume the session of rater ``name`` (a bad name shows a message)."""
        try:
            self.rater = normalize_rater(name)
        except ParameterError:
            self.status.value = "<span style='color:#b00'>Type your name first, then press Start.</span>"
            return
        self.order = rater_order(self.trial_set, self.rater, seed=self.seed)
        self.answers = self._load_answers()
        first_open = next((i for i, (t, _s) in enumerate(self.order) if t not in self.answers), None)
        self.finished = first_open is None
        if self.finished:
            self.status.value = (f"Welcome back, {html.escape(self.rater)}: you have answered "
                                 "every trial.")
            self._show_summary()
            self.position = len(self.order) - 1
            self.trial_box.layout.display = "none"
            return
        done = len(self.answers)
        self.summary.value = ""
        self.go(first_open)
        self.status.value = (f"Resuming {html.escape(self.rater)} at trial {first_open + 1} "
                             f"({done} answered before)." if done else
                             f"Hello {html.escape(self.rater)}: {len(self.order)} trials.")

    def _audio(self, rel: str) -> bytes:
        if rel not in self._audio_cache:
            self._audio_cache[rel] = (self.trial_set.root / rel).read_bytes()
        return self._audio_cache[rel]

    def go(self, position: int) -> None:
        """Show the trial at ``position`` (0-based in the rater's order), clamped to the range."""
        if not self.order:
            return
        position = max(0, min(position, len(self.order) - 1))
        if position > self.position and self.order[self.position][0] not in self.answers \
                and position > self._first_open():
            position = self.position  # do not skip an unanswered trial
        self.position = position
        trial_id, side = self.order[position]
        trial = self.trial_set.trial(trial_id)
        a, b = (trial.candidate, trial.reference) if side == "A" else (
            trial.reference, trial.candidate)
        self.audio_a.value = self._audio(a)
        self.audio_b.value = self._audio(b)
        self.progress.value = f"<b>trial {position + 1} of {len(self.order)}</b>"
        current = self.answers.get(trial_id)
        for k, btn in zip(ANSWERS, self.answer_buttons, strict=True):
            btn.button_style = "info" if k == current else ""
        self.back.disabled = position == 0
        self.next.disabled = current is None or position == len(self.order) - 1
        self.trial_box.layout.display = "flex"

    def _first_open(self) -> int:
        return next((i for i, (t, _s) in enumerate(self.order) if t not in self.answers),
                    len(self.order))

    def answer(self, value: int) -> dict | None:
        """Record ``value`` (1..4) for the current trial, then move to the next open trial."""
        if self.rater is None or not self.order:
            return None
        trial_id, side = self.order[self.position]
        trial = self.trial_set.trial(trial_id)
        rec = self.store.append({
            "rater": self.rater, "session": self.trial_set.session, "trial": trial_id,
            "position": self.position + 1, "model": trial.model, "clip": trial.clip,
            "side": side, "answer": int(value), "seed": int(self.seed),
            "session_trials": len(self.trial_set.trials),
            "session_controls": self.trial_set.n_controls,
        })
        self.answers[trial_id] = int(value)
        saved = (f"Saved: trial {self.position + 1}, answer {value} "
                 f"&ldquo;{ANSWERS[value]}&rdquo;.")
        nxt = self._first_open()
        if nxt >= len(self.order):
            self.finished = True
            self.trial_box.layout.display = "none"
            self._show_summary()
        else:
            # the next trial if it is open, else the first open one (after revisiting)
            following = self.position + 1
            self.go(following if following < len(self.order)
                    and self.order[following][0] not in self.answers else nxt)
        self.status.value = saved  # last, so the page shows it once the next trial is up
        return rec

    def _show_summary(self) -> None:
        rows = []
        for i, (trial_id, side) in enumerate(self.order):
            t = self.trial_set.trial(trial_id)
            what = {CONTROL_SAME: "check: the target itself",
                    CONTROL_DRY: "check: the unprocessed input"}.get(t.model, f"model {t.model}")
            ans = self.answers.get(trial_id)
            rows.append(
                f"<tr><td>{i + 1}</td><td>{html.escape(t.clip)}</td><td>{side}</td>"
                f"<td>{html.escape(what)}</td><td>{ans} {ANSWERS.get(ans, '')}</td></tr>"
            )
        own = [{"model": self.trial_set.trial(t).model, "trial": t, "answer": a,
                "session_controls": self.trial_set.n_controls} for t, a in self.answers.items()]
        st = rater_status(own)
        verdict = {"passed": "You passed the checks: your answers count.",
                   "failed": "Some checks were missed (" + ", ".join(st["failures"])
                             + "): your answers are kept but not counted.",
                   "incomplete": "Some checks are unanswered."}[st["status"]]
        self.summary.value = (
            "<b>Session complete. Thank you!</b> Here is which side was which "
            f"(the other side was always the target). {verdict}"
            "<table><thead><tr><th>trial</th><th>clip</th><th>side of the candidate</th>"
            "<th>candidate</th><th>your answer</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table><p>Press <i>Back</i> to change an answer (the latest counts).</p>"
        )
        self.back.disabled = False

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in the browser test
        from IPython.display import display

        display(self.widget)


def listening_widget(
    trial_set: TrialSet,
    *,
    ratings_path: str | os.PathLike,
    seed: int,
    interactive: bool,
):
    """The rating widget when someone is at the keyboard, otherwise a note on how to take the test.

    Parameters
    ----------
    trial_set : TrialSet
    ratings_path : path
        The shared ratings file.
    seed : int
        Session seed.
    interactive : bool
        True in JupyterLab; False under papermill (the profiles set it).

    Returns
    -------
    ListeningWidget or IPython.display.Markdown
    """
    if interactive:
        return ListeningWidget(trial_set, ratings_path=ratings_path, seed=seed)
    from IPython.display import Markdown

    return Markdown(
        f"*The rating widget is shown when this notebook is opened in JupyterLab* "
        f"(`interactive = True`). This run prepared {len(trial_set.trials)} trials "
        f"(session `{trial_set.session}`); answers are saved to `{ratings_path}`."
    )


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ListeningConfig:
    """The notebook's frozen configuration, built by :meth:`build` from its parameters cell.

    Attributes
    ----------
    run_dir : Path
        The run folder whose rendered outputs are tested.
    seed : int
        Session seed (order and sides per rater).
    interactive : bool
        Show the widget (JupyterLab) or not (papermill).
    ratings_path : Path
        The shared ratings file.
    models : tuple of str
        Models to test; empty means all rendered.
    splits : tuple of str
        Clips' splits.
    clip_seconds : float
        Clip length in seconds.
    loudness_lufs : float
        Matched loudness.
    min_clip_seconds : float
        Shortest rendered stretch worth a trial (shorter model outputs are left out).
    pool_sessions : bool
        Aggregate every session in the file (True) or only this run's.
    note : str
        What :meth:`build` decided about ``run_dir`` (e.g. a fallback to ``reports/latest``).
    """

    run_dir: Path
    seed: int
    interactive: bool
    ratings_path: Path
    models: tuple[str, ...]
    splits: tuple[str, ...]
    clip_seconds: float
    loudness_lufs: float
    min_clip_seconds: float
    pool_sessions: bool
    note: str = ""

    @classmethod
    def build(
        cls,
        *,
        run_dir: str,
        seed: int,
        interactive: bool,
        ratings_path: str = "",
        models: str = "",
        splits: str = "val1,val2",
        clip_seconds: float = 3.0,
        loudness_lufs: float = -23.0,
        min_clip_seconds: float = 0.25,
        pool_sessions: bool = True,
    ) -> ListeningConfig:
        """Check the parameters and resolve the paths.

        ``ratings_path=""`` means :func:`default_ratings_path` (``reports/listening/ratings.jsonl``).
        When ``interactive`` and ``run_dir`` has no rendered outputs, the sibling ``latest`` (the
        newest run of the pipeline, a symlink) is used instead if it has them, so that opening the
        notebook by hand after ``make report`` tests that run; ``note`` says so.
        """
        for name, value in (("interactive", interactive), ("pool_sessions", pool_sessions)):
            if not isinstance(value, bool):
                raise ParameterError(problem(
                    name, found=repr(value), expected="True or False",
                    fix=f"write {name} = True or {name} = False",
                ))
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ParameterError(problem("seed", found=repr(seed), expected="an integer",
                                         fix="write seed = 0"))
        if not isinstance(run_dir, str | os.PathLike) or not str(run_dir):
            raise ParameterError(problem("run_dir", found=repr(run_dir),
                                         expected="a run folder path",
                                         fix='write run_dir = "../reports/lab"'))
        run = Path(run_dir)
        note = ""
        splits_t = _parse_names(splits, what="splits")
        if interactive and not find_models(run, splits=splits_t):
            latest = run.parent / "latest"
            if find_models(latest, splits=splits_t):
                note = (f"{run} has no rendered outputs; using {latest} "
                        f"(-> {latest.resolve().name}), the newest run.")
                run = latest
        rp = Path(ratings_path) if ratings_path else default_ratings_path(run)
        return cls(run_dir=run, seed=int(seed), interactive=interactive, ratings_path=rp,
                   models=_parse_names(models, what="models"), splits=splits_t,
                   clip_seconds=float(clip_seconds) if isinstance(clip_seconds, int | float)
                   and not isinstance(clip_seconds, bool) else clip_seconds,
                   loudness_lufs=loudness_lufs, min_clip_seconds=min_clip_seconds,
                   pool_sessions=pool_sessions, note=note)

    @property
    def figure_path(self) -> Path:
        """Where the ratings figure goes: ``<run_dir>/figures/listening_ratings.png``."""
        return self.run_dir / "figures" / "listening_ratings.png"

    def describe(self) -> str:
        """A short Markdown summary of the configuration."""
        return (
            f"Run folder `{self.run_dir}`; ratings file `{self.ratings_path}`; "
            f"models {', '.join(self.models) or 'all rendered'}; clips {', '.join(self.splits)}, "
            f"{self.clip_seconds} s each at {self.loudness_lufs} LUFS; session seed {self.seed}; "
            f"{'all sessions pooled' if self.pool_sessions else 'this session only'}."
            + (f" {self.note}" if self.note else "")
        )

