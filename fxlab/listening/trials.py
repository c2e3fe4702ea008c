"""The listening test's trials: cut, loudness-matched clips, and each rater's seeded order.

- :class:`Trial`           one A/B pair: the target against a candidate
- :class:`TrialSet`        the trials of one session (``<run_dir>/listening/trials.json``)
- :func:`prepare_trials`   cut, level-match and write the clips of a run; describe them
- :func:`load_trials`      read ``trials.json`` back
- :func:`rendered_models`  the models a run rendered for every split (from
  :mod:`fxlab.listening.rendered`)
- :func:`rater_order`      a rater's order and A/B sides, random but seeded by name and session seed
- :func:`normalize_rater`  a rater's name, spaces tidied

:func:`prepare_trials` cuts one clip per split (a few seconds of the Validation 1 chunk and of the
Validation 2 speech) from the target (``data/<split>/wet.wav``), the unprocessed input
(``data/<split>/dry.wav``) and every model's output (``rendered/<model>/<split>.wav``), matches
their loudness (:mod:`fxlab.listening.loudness`) and writes them as 16-bit WAV files into
``<run_dir>/listening/trials/``, with ``trials.json`` describing them. Every trial pairs the target
with a *candidate*: a model's output, or one of two hidden controls, the target itself
(``control_same``: should be rated 4) and the unprocessed input (``control_dry``: should not).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fxlab.audio import STUDY_SR
from fxlab.errors import (
    AudioFileError,
    ParameterError,
    problem,
    unknown_name,
)
from fxlab.listening.clips import (
    describe_source,
    read_mono,
    render_offsets,
    sha256_file,
    trial_sources,
    up_to_date,
    write_clip,
)
from fxlab.listening.loudness import LOUDNESS_METHOD
from fxlab.listening.rendered import rendered_models
from fxlab.listening.scale import CONTROL_DRY, CONTROL_SAME, CONTROLS
from fxlab.util import Html, html_table, write_json

if TYPE_CHECKING:
    from fxlab.listening.config import ListeningConfig

__all__ = [
    "STUDY_SR",
    "Trial",
    "TrialSet",
    "rendered_models",
    "load_trials",
    "normalize_rater",
    "prepare_trials",
    "rater_order",
]

# 2: loudness by pyloudnorm (BS.1770-4, gated); the option min_seconds renamed min_clip_seconds
_TRIALS_FORMAT = 2


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
        of each side before matching (``loudness_in``, LUFS) and the gain applied (``gain_db``).
    options : dict
        The options the trials were made with, and ``loudness``: how loudness was measured.
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
        rows = [
            (clip, group, info["start_s"], info["seconds"],
             ", ".join(f"{k} {v:+.1f} dB" for k, v in info["gain_db"].items()))
            for clip, groups in self.clips.items() for group, info in groups.items()
        ]
        table = html_table(["clip", "pair (target vs)", "start (s)", "length (s)",
                            "gain per version"], rows, digits=4)
        n_model = len(self.trials) - self.n_controls
        min_s = self.options.get("min_clip_seconds", self.options.get("min_seconds", 0.25))
        method = self.options.get("loudness", "K-weighted, ungated")
        note = ""
        if self.skipped:
            note = (
                f"<p>Left out, too short to judge by ear (under {min_s:.2f} s rendered): "
                + html.escape(", ".join(f"{k['model']} on {k['clip']} ({k['seconds']:.2f} s)"
                                        for k in self.skipped))
                + ". The evaluation renders the slow windowed models on a short excerpt; raise "
                "its <code>windowed_eval_seconds</code> to listen to them.</p>"
            )
        return Html(
            f"<p>Session <code>{html.escape(self.session)}</code>: {len(self.trials)} trials "
            f"({n_model} model trials of {len(self.models)} models on {len(self.clips)} clips; "
            f"{self.n_controls} hidden controls). Clips matched to "
            f"{self.options['loudness_lufs']:.1f} LUFS ({html.escape(method)}), then scaled "
            "together so that neither side of a pair peaks above &minus;1 dBFS.</p>"
            + table + note
        )


def prepare_trials(config: ListeningConfig) -> TrialSet:
    """Cut, loudness-match and write the clips of the listening test; describe them in trials.json.

    For each split and each model, a window of ``config.clip_seconds`` is cut from the target and
    the model's output where the target is loudest (on a 0.25 s grid), inside the stretch the model
    rendered: the evaluation renders some models on an excerpt and records its start in
    ``metrics.json`` (``models.<name>.splits.<split>.start_s``; absent: the output starts at the
    split's first sample); a shorter output gives a shorter clip. The controls' window (target and
    unprocessed input) is chosen the same way on the whole split. Every version gets a 20 ms
    raised-cosine fade in and out, then :func:`~fxlab.listening.loudness.match_gains` brings its
    loudness (ITU-R BS.1770-4, gated, by pyloudnorm) to ``config.loudness_lufs``; if either side of
    a pair would then peak above -1 dBFS, both are scaled down together (their loudness stays
    matched). Silent versions (below -70 LUFS) are not gained up; gains are capped at +30 dB.

    A model that rendered less than ``config.min_clip_seconds`` of a split (the evaluation renders
    the slow windowed models on a short excerpt in the quick profiles) is too short to judge by ear:
    when ``config.models`` is empty its trial on that split is skipped and listed in
    ``TrialSet.skipped``; when it was asked for by name, that is an error.

    The result is cached: if ``trials.json`` already describes the same sources and options
    (loudness method included), nothing is rewritten.

    Parameters
    ----------
    config : ListeningConfig
        Uses ``run_folder`` (with ``data/<split>/{dry,wet}.wav`` and
        ``rendered/<model>/<split>.wav``, float32 mono 44.1 kHz), ``model_names`` (empty: every
        model rendered for all the splits), ``split_names``, ``clip_seconds``, ``loudness_lufs``
        and ``min_clip_seconds`` (capped at ``clip_seconds``).

    Returns
    -------
    TrialSet
        Written to ``<run_dir>/listening/trials.json`` and, per clip, ``trials/<clip>/<model>.wav``
        with its target ``trials/<clip>/<model>.target.wav``, and ``controls.target.wav`` /
        ``controls.wav`` (the unprocessed input): 16-bit PCM, 44.1 kHz, mono.
    """
    run_dir = config.run_folder
    splits_t = config.split_names
    wanted, by_name = _wanted_models(config)
    sources = trial_sources(run_dir, splits_t, wanted)
    offsets = render_offsets(run_dir, wanted, splits_t)
    options = {
        "models": list(wanted) if by_name else "all", "splits": list(splits_t),
        "clip_seconds": float(config.clip_seconds),
        "loudness_lufs": float(config.loudness_lufs), "loudness": LOUDNESS_METHOD,
        "format": _TRIALS_FORMAT, "render_offsets": offsets,
        "min_clip_seconds": float(config.min_clip_seconds),
    }
    source_hashes = {
        s: {name: sha256_file(p) for name, p in paths.items()} for s, paths in sources.items()
    }
    root = run_dir / "listening"
    manifest_path = root / "trials.json"
    if up_to_date(manifest_path, options, source_hashes):
        return load_trials(run_dir)

    sr = STUDY_SR
    clips: dict[str, dict] = {}
    files: dict[str, str] = {}
    trials: list[Trial] = []
    n_clip = int(round(config.clip_seconds * sr))
    n_min = min(int(round(config.min_clip_seconds * sr)), n_clip)
    skipped: list[dict] = []
    if stale := sorted((root / "trials").glob("*/*.wav")) if (root / "trials").is_dir() else []:
        for f in stale:  # clips of an older recipe (files this function wrote)
            f.unlink()
    for s, paths in sources.items():
        clips[s], split_trials = _split_clips(
            root, s, paths, offsets[s], wanted, by_name=by_name, n_clip=n_clip, n_min=n_min,
            lufs=config.loudness_lufs, files=files, skipped=skipped)
        trials += split_trials

    tested = tuple(m for m in wanted if any(t.model == m for t in trials))
    if not tested:
        raise AudioFileError(problem(
            run_dir / "rendered", found="every model's output shorter than min_clip_seconds = "
            f"{n_min / sr:.2f} s (" + ", ".join(
                f"{k['model']} {k['seconds']:.3f} s of {k['clip']}" for k in skipped) + ")",
            expected="at least one model rendered long enough to listen to",
            fix="render longer excerpts (03_evaluate's windowed_eval_seconds) or lower "
                "min_clip_seconds",
        ))
    _write_manifest(manifest_path, run_dir, trials, files, options=options, sources=source_hashes,
                    clips=clips, models=list(tested), skipped=skipped)
    return load_trials(run_dir)


def _split_clips(root: Path, s: str, paths: dict, offsets: dict, wanted: Sequence[str], *,
                 by_name: bool, n_clip: int, n_min: int, lufs: float, files: dict,
                 skipped: list) -> tuple[dict, list[Trial]]:
    """Cut and write one split's clips: the controls' (on the whole split) and each model's (on
    the stretch it rendered, from ``offsets``); returns ``(clips, trials)``. A model too short to
    judge is listed in ``skipped``, or refused when asked for by name; ``files`` gets each clip."""
    sr = STUDY_SR
    versions = {name: read_mono(p, what=f"{describe_source(name)} of split {s}")
                for name, p in paths.items()}
    n_split = min(versions["target"].size, versions["dry"].size)
    (root / "trials" / s).mkdir(parents=True, exist_ok=True)
    clips: dict[str, dict] = {}
    trials: list[Trial] = []
    # one window per group: the controls (target, dry) on the whole split; each model on the
    # stretch it rendered (the evaluation renders some models on an excerpt)
    groups = {"controls": ("dry", 0, n_split)}
    for m in wanted:
        off = offsets[m]
        groups[m] = (m, off, min(off + versions[m].size, n_split))
    for group, (other, lo, hi) in groups.items():
        if hi - lo < n_min:
            if group != "controls" and not by_name:
                skipped.append({"clip": s, "model": group, "seconds": max(hi - lo, 0) / sr})
                continue
            raise AudioFileError(problem(
                paths[other], found=f"{max(hi - lo, 0) / sr:.3f} s that overlap the target",
                expected=f"at least min_clip_seconds = {n_min / sr:.2f} s to listen to",
                fix="render a longer excerpt (03_evaluate's windowed_eval_seconds), lower "
                    'min_clip_seconds, or leave the model out (models="...")',
            ))
        rel, clips[group] = write_clip(
            root, s, group, versions["target"], versions[other], lo=lo, hi=hi,
            off=0 if other == "dry" else groups[other][1], n_clip=n_clip,
            lufs=lufs, files=files, other=other)
        ref = rel["target"]
        if group == "controls":
            trials.append(Trial(f"{s}:{CONTROL_SAME}", s, CONTROL_SAME, ref, ref))
            trials.append(Trial(f"{s}:{CONTROL_DRY}", s, CONTROL_DRY, ref, rel["dry"]))
        else:
            trials.append(Trial(f"{s}:{group}", s, group, ref, rel[group]))
    return clips, trials


def _write_manifest(path: Path, run_dir: Path, trials: list[Trial], files: dict, *, options: dict,
                    sources: dict, clips: dict, models: list, skipped: list) -> None:
    """Write ``trials.json``; its session id is a digest of the trials and the clips' files."""
    from fxlab import __version__

    digest = hashlib.sha256(json.dumps(
        {"trials": [dataclasses.asdict(t) for t in trials], "files": files}, sort_keys=True,
    ).encode()).hexdigest()
    write_json(path, {
        "format": _TRIALS_FORMAT, "session": "s-" + digest[:12], "run_dir": str(run_dir),
        "options": options, "sources": sources, "files": files, "clips": clips,
        "models": models, "skipped": skipped,
        "trials": [dataclasses.asdict(t) for t in trials],
        "fxlab_version": __version__,
    })


def _wanted_models(config: ListeningConfig) -> tuple[tuple[str, ...], bool]:
    """The models to test (asked by name, else every model rendered for all the splits) and
    whether they were asked by name."""
    run_dir, splits_t = config.run_folder, config.split_names
    if not run_dir.is_dir():
        raise AudioFileError(problem(
            run_dir, found="no such folder", expected="a run folder (reports/<run-id>)",
            fix="run the study first (fxlab run --profile quick) or pass the run folder it made",
        ))
    available = rendered_models(run_dir, splits=splits_t)
    wanted = config.model_names
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
        if m not in available:
            raise unknown_name("model (rendered for " + ", ".join(splits_t) + ")", m, available)
    return tuple(wanted), by_name


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
            fix="run fxlab.listening.prepare_trials(config) (notebook 04_listening_test) first",
        )) from err
    except (ValueError, KeyError, TypeError) as err:
        raise AudioFileError(problem(
            path, found=f"a file that is not a trial list ({err})",
            expected="trials.json written by fxlab.listening.prepare_trials",
            fix="delete it and run prepare_trials(config) again",
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
