"""The ABX test's session: one model's clip against its target, and each rater's seeded X.

- :class:`AbxSession`  the clips of one ABX session (``<run_dir>/listening/abx/session.json``)
- :func:`prepare_abx`  cut, level-match and write the clips of the chosen model and split
- :func:`load_abx`     read ``session.json`` back
- :func:`abx_order`    what X is in each of a rater's N trials, random but seeded

The A/B test (:mod:`fxlab.listening.trials`) asks *how similar* a model's output sounds to its
target; the ABX test asks whether a rater can *tell them apart at all*. Each trial plays A (the
target), B (the model's output) and X, which is one of them at random; the rater answers "X is A"
or "X is B". A rater who hears no difference is right half the time, so the number of correct
answers out of N is binomial (N, 1/2) under that null hypothesis (:mod:`fxlab.listening.abx_stats`).

The clips are cut and level-matched exactly as the A/B trial of the same model and split is
(:func:`~fxlab.listening.trials.prepare_trials`: the target's loudest window inside the stretch the
model rendered, 20 ms fades, ITU-R BS.1770-4 loudness by pyloudnorm, both scaled together to peak
at most -1 dBFS), from the same sources, so the A and B files are the A/B trial's to the byte. X is
played from float copies of the same samples (``x/A.wav``, ``x/B.wav``): they sound exactly like
A and B but their bytes differ from both, so X's file does not match A's or B's byte for byte.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf

from fxlab.audio import STUDY_SR, wav_writer
from fxlab.errors import AudioFileError, ParameterError, problem, unknown_name
from fxlab.listening.clips import (
    read_mono,
    render_offsets,
    sha256_file,
    trial_sources,
    up_to_date,
    write_clip,
)
from fxlab.listening.loudness import LOUDNESS_METHOD
from fxlab.listening.rendered import rendered_models
from fxlab.listening.trials import normalize_rater
from fxlab.util import Html, atomic_path, html_table, write_json

if TYPE_CHECKING:
    from fxlab.listening.config import ListeningConfig

__all__ = ["AbxSession", "abx_order", "load_abx", "prepare_abx"]

_ABX_FORMAT = 1
#: Where the ABX clips go, under the run's ``listening`` folder.
ABX_FOLDER = "abx"


@dataclasses.dataclass(frozen=True)
class AbxSession:
    """The clips of one ABX session, as written by :func:`prepare_abx`.

    Attributes
    ----------
    root : Path
        The ``<run_dir>/listening/abx`` folder; file paths are relative to it.
    session : str
        The session id: a hash of the model, the split, N and every clip's bytes (``"x-…"``), so
        that two runs that made the same audio with the same N share a session and pool.
    model : str
        The model under test; its output plays as B.
    clip : str
        The split the clip was cut from (``"val1"`` or ``"val2"``).
    n_trials : int in [1, 200]
        N, the number of trials, fixed before the session starts.
    files : dict
        ``{"A": …, "B": …, "X_A": …, "X_B": …}``: A (the target), B (the model's output), and the
        copies X plays when it is A or B.
    clip_info : dict
        ``start_s``, ``seconds``, the loudness of each side before matching (``loudness_in``,
        LUFS) and the gain applied (``gain_db``).
    options : dict
        The options the clips were made with, and ``loudness``: how loudness was measured.
    """

    root: Path
    session: str
    model: str
    clip: str
    n_trials: int
    files: dict
    clip_info: dict
    options: dict

    def path(self, key: str) -> Path:
        """The file of ``key`` (``"A"``, ``"B"``, ``"X_A"`` or ``"X_B"``)."""
        return self.root / self.files[key]

    def table_html(self) -> str:
        """A paragraph and a table: the model, the clip, where it was cut, the gains, N."""
        info = self.clip_info
        table = html_table(
            ["model (B)", "clip", "start (s)", "length (s)", "gain per version", "trials (N)"],
            [(self.model, self.clip, info["start_s"], info["seconds"],
              ", ".join(f"{k} {v:+.1f} dB" for k, v in info["gain_db"].items()),
              self.n_trials)], digits=4)
        return Html(
            f"<p>ABX session <code>{html.escape(self.session)}</code>: A is the target, B is "
            f"model {html.escape(self.model)}'s output on the {html.escape(self.clip)} clip, cut "
            f"and matched to {self.options['loudness_lufs']:.1f} LUFS as its A/B trial is; "
            f"{self.n_trials} trials, fixed before the session starts.</p>" + table
        )


def _abx_candidates(config: ListeningConfig) -> list[str]:
    """The models the ABX test may use: ``abx_model`` if named (refused if not rendered), else
    every model rendered for ``abx_split``, best first: the networks by their ESR on the split
    (``metrics.json``; by name where it has none), the traditional emulator (``graybox``) last, so
    that the default asks whether the best network can be told from the effect."""
    run_dir, split = config.run_folder, config.abx_split
    if not run_dir.is_dir():
        raise AudioFileError(problem(
            run_dir, found="no such folder", expected="a run folder (reports/<run-id>)",
            fix="run the study first (fxlab run --profile quick) or pass the run folder it made",
        ))
    available = rendered_models(run_dir, splits=(split,))
    name = config.abx_model.strip()
    if name:
        if name not in available:
            raise unknown_name(f"model (rendered for {split}; abx_model)", name, available)
        return [name]
    if not available:
        raise AudioFileError(problem(
            run_dir / "rendered", found=f"no model with a rendered output for {split}",
            expected=f"rendered/<model>/{split}.wav for at least one model",
            fix="run 01_synthesize_data to 03_evaluate for this run folder first, or set "
                'abx_split = "val1"',
        ))
    return sorted(available, key=lambda m: (m == "graybox", _esr_of(run_dir, m, split), m))


def _esr_of(run_dir, model: str, split: str) -> float:
    """The model's ESR on ``split`` in the run's ``metrics.json`` (infinity where there is none)."""
    import json

    try:
        doc = json.loads((run_dir / "metrics.json").read_text())
        return float(doc["models"][model]["splits"][split]["esr"])
    except (OSError, ValueError, KeyError, TypeError):
        return float("inf")


def prepare_abx(config: ListeningConfig) -> AbxSession:
    """Cut, loudness-match and write the ABX clips of one model; describe them in session.json.

    The model is ``config.abx_model``, or when that is ``""`` the first model (by name) rendered
    for ``config.abx_split`` with at least ``min_clip_seconds`` of output (the quick profiles
    render the slow windowed models on a short excerpt). Its clip and the target's are cut and
    matched exactly as its A/B trial's (see the module docstring), into
    ``<run_dir>/listening/abx/trials/<split>/<model>.target.wav`` (A) and ``<model>.wav`` (B),
    16-bit PCM; X plays ``x/A.wav`` or ``x/B.wav``, float copies of the same samples.

    The result is cached: if ``session.json`` already describes the same sources and options,
    nothing is rewritten.

    Parameters
    ----------
    config : ListeningConfig
        Uses ``run_folder``, ``abx_model``, ``abx_split``, ``abx_trials`` (N), ``clip_seconds``,
        ``loudness_lufs`` and ``min_clip_seconds``.

    Returns
    -------
    AbxSession

    Raises
    ------
    UnknownNameError
        ``abx_model`` is not rendered for ``abx_split`` in the run.
    AudioFileError
        The run folder, its data or the model's output is missing, or too short to listen to.
    """
    run_dir, split = config.run_folder, config.abx_split
    candidates = _abx_candidates(config)
    sources = trial_sources(run_dir, (split,), candidates)[split]
    offsets = render_offsets(run_dir, candidates, (split,))[split]
    sr = STUDY_SR
    n_clip = int(round(config.clip_seconds * sr))
    n_min = min(int(round(config.min_clip_seconds * sr)), n_clip)
    n_split = min(sf.info(sources["target"]).frames, sf.info(sources["dry"]).frames)
    spans = {m: (offsets[m], min(offsets[m] + sf.info(sources[m]).frames, n_split))
             for m in candidates}
    usable = [m for m in candidates if spans[m][1] - spans[m][0] >= n_min]
    if not usable:
        raise AudioFileError(problem(
            run_dir / "rendered", found=f"{split} rendered too short by " + ", ".join(
                f"{m} ({max(hi - lo, 0) / sr:.3f} s)" for m, (lo, hi) in spans.items()),
            expected=f"at least min_clip_seconds = {n_min / sr:.2f} s of the model's output",
            fix="render a longer excerpt (03_evaluate's windowed_eval_seconds), lower "
                "min_clip_seconds, or name another model (abx_model)",
        ))
    model = usable[0]
    lo, hi = spans[model]
    options = {
        "model": model, "split": split, "n_trials": int(config.abx_trials),
        "clip_seconds": float(config.clip_seconds),
        "loudness_lufs": float(config.loudness_lufs), "loudness": LOUDNESS_METHOD,
        "min_clip_seconds": float(config.min_clip_seconds), "render_offset": lo,
        "format": _ABX_FORMAT,
    }
    source_hashes = {name: sha256_file(sources[name]) for name in ("target", "dry", model)}
    root = run_dir / "listening" / ABX_FOLDER
    manifest = root / "session.json"
    if up_to_date(manifest, options, source_hashes, files_key="hashes"):
        return load_abx(run_dir)

    target = read_mono(sources["target"], what=f"the target of split {split}")
    output = read_mono(sources[model], what=f"model {model}'s output of split {split}")
    hashes: dict[str, str] = {}
    (root / "trials" / split).mkdir(parents=True, exist_ok=True)
    rel, clip_info = write_clip(root, split, model, target, output, lo=lo, hi=hi, off=lo,
                                 n_clip=n_clip, lufs=config.loudness_lufs, files=hashes,
                                 other=model)
    files = {"A": rel["target"], "B": rel[model], "X_A": "x/A.wav", "X_B": "x/B.wav"}
    (root / "x").mkdir(parents=True, exist_ok=True)
    for side in ("A", "B"):
        y, _sr = sf.read(root / files[side], dtype="float32")
        with atomic_path(root / files[f"X_{side}"], suffix=".wav") as tmp:
            with wav_writer(tmp, sr) as dst:
                dst.write(y)
        hashes[files[f"X_{side}"]] = sha256_file(root / files[f"X_{side}"])
    digest = hashlib.sha256(json.dumps(
        {"model": model, "split": split, "n_trials": options["n_trials"], "files": hashes},
        sort_keys=True).encode()).hexdigest()
    from fxlab import __version__

    write_json(manifest, {
        "format": _ABX_FORMAT, "session": "x-" + digest[:12], "run_dir": str(run_dir),
        "model": model, "clip": split, "n_trials": options["n_trials"], "files": files,
        "hashes": hashes, "clip_info": clip_info, "options": options, "sources": source_hashes,
        "fxlab_version": __version__,
    })
    return load_abx(run_dir)


def load_abx(run_dir: str | os.PathLike) -> AbxSession:
    """Read ``<run_dir>/listening/abx/session.json`` written by :func:`prepare_abx`.

    Parameters
    ----------
    run_dir : path
        A run folder.

    Returns
    -------
    AbxSession
    """
    root = Path(run_dir) / "listening" / ABX_FOLDER
    path = root / "session.json"
    try:
        doc = json.loads(path.read_text())
        return AbxSession(root=root, session=doc["session"], model=doc["model"],
                          clip=doc["clip"], n_trials=int(doc["n_trials"]), files=doc["files"],
                          clip_info=doc["clip_info"], options=doc["options"])
    except FileNotFoundError as err:
        raise AudioFileError(problem(
            path, found="no such file", expected="the clips of the ABX test",
            fix="run fxlab.listening.prepare_abx(config) (notebook 04_listening_test) first",
        )) from err
    except (ValueError, KeyError, TypeError) as err:
        raise AudioFileError(problem(
            path, found=f"a file that is not an ABX session ({err})",
            expected="session.json written by fxlab.listening.prepare_abx",
            fix="delete it and run prepare_abx(config) again",
        )) from err


def abx_order(session: AbxSession, rater: str, *, seed: int) -> list[str]:
    """What X is in each of ``rater``'s N trials: ``"A"`` or ``"B"``, a fair coin per trial.

    Random but reproducible: the generator is seeded by SHA-256 of
    ``"abx:<seed>:<rater>:<session id>"``, so the same rater with the same session seed always
    gets the same sequence (a session resumes where it stopped), different raters get different
    ones, and it is unrelated to the A/B test's order. Each trial's X is an independent fair coin
    (not a balanced shuffle): whatever a rater who hears no difference answers, each answer is
    right with probability 1/2 independently, which is the binomial test's null hypothesis.

    Parameters
    ----------
    session : AbxSession
    rater : str
        The rater's name (normalized by :func:`~fxlab.listening.trials.normalize_rater`).
    seed : int
        The session seed (the notebook's ``seed``).

    Returns
    -------
    list of str, length ``session.n_trials``
    """
    rater = normalize_rater(rater)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ParameterError(problem(
            "seed", found=repr(seed), expected="an integer", fix="pass seed=0",
        ))
    key = hashlib.sha256(f"abx:{int(seed)}:{rater}:{session.session}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(key[:8], "little"))
    return ["AB"[int(i)] for i in rng.integers(0, 2, size=session.n_trials)]
