"""The listening notebook's frozen configuration.

- :class:`ListeningConfig`  built in one line from the notebook's parameters cell,
  ``config = listening.ListeningConfig.from_parameters(globals())``; its fields are exactly the
  notebook's parameters, checked on construction; what is derived from them (the resolved run
  folder, the ratings file, the ABX answers file, the model and split names, the figure path) are
  properties
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import os
from collections.abc import Sequence
from pathlib import Path

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.listening.loudness import LOUDNESS_METHOD
from fxlab.listening.rendered import rendered_models
from fxlab.listening.scale import RESERVED
from fxlab.listening.store import ABX_MAX_TRIALS, default_abx_path, default_ratings_path
from fxlab.util import NotebookConfig

__all__ = ["SPLITS", "ListeningConfig"]

#: The splits a clip may be cut from: the Validation 1 chunk and the Validation 2 speech.
SPLITS = ("val1", "val2")


def _parse_names(value: object, *, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        names = [v.strip() for v in value.split(",")]
    elif isinstance(value, Sequence):
        names = [str(v).strip() for v in value]
    else:
        raise ParameterError(problem(
            what, found=f"{type(value).__name__} {value!r}",
            expected="a comma-separated string or a list of names", fix=f'write e.g. {what} = "a,b"',
        ))
    return tuple(n for n in names if n)


def _check_number(name: str, value: object, lo: float, hi: float, *, unit: str, fix: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not lo <= float(value) <= hi:
        raise ParameterError(problem(
            name, found=repr(value), expected=f"{unit} in [{lo:g}, {hi:g}]", fix=fix,
        ))


@dataclasses.dataclass(frozen=True)
class ListeningConfig(NotebookConfig):
    """The listening notebook's parameters, checked; the field names are the notebook's.

    Build it from the notebook's namespace, ``ListeningConfig.from_parameters(globals())``, or from
    Python, ``ListeningConfig(run_dir="reports/r1", interactive=False)`` (the defaults are the
    notebook's). Bad values raise :class:`~fxlab.errors.ParameterError` (an unknown split
    :class:`~fxlab.errors.UnknownNameError`) on construction.

    Attributes
    ----------
    run_dir : str
        The run folder whose rendered outputs are tested (see :attr:`run_folder`).
    seed : int
        Session seed: with a rater's name it fixes the order and the A/B sides.
    interactive : bool
        Show the widget (JupyterLab) or a note (papermill; the profiles set False).
    ratings_path : str
        The shared ratings file; ``""`` means ``reports/listening/ratings.jsonl`` beside the run
        folders (see :attr:`ratings_file`).
    models : str
        Comma-separated models to test; ``""`` means every model rendered for all the splits.
    splits : str
        Comma-separated splits the clips are cut from, of ``"val1"`` and ``"val2"``.
    clip_seconds : float in [0.25, 30]
        Length of each clip, seconds.
    loudness_lufs : float in [-60, -6]
        The loudness every version is matched to, LUFS (ITU-R BS.1770-4, gated, by pyloudnorm).
    min_clip_seconds : float in [0.01, 30]
        Shortest rendered stretch worth a trial, seconds (shorter model outputs are left out).
    pool_sessions : bool
        Aggregate every session in the ratings file (True) or only this run's.
    audition_model : str
        The knob-conditioned model the knob audition plays (:func:`~fxlab.listening.knob_audition`);
        ``""`` means the first conditioned model of the run, by name.
    abx_model : str
        The model the ABX test plays as B against the target (:func:`~fxlab.listening.prepare_abx`);
        ``""`` means the best network rendered for ``abx_split`` (lowest ESR there in the run's
        ``metrics.json``; the traditional emulator last) with at least ``min_clip_seconds`` of
        output.
    abx_split : str
        The split the ABX clip is cut from, ``"val1"`` or ``"val2"``.
    abx_trials : int in [1, 200]
        N, the number of ABX trials per session, fixed before it starts (16: 12 correct give
        p < 0.05).
    abx_path : str
        The shared ABX answers file; ``""`` means ``reports/listening/abx.jsonl`` beside the run
        folders (see :attr:`abx_file`).
    """

    run_dir: str
    seed: int = 0
    interactive: bool = True
    ratings_path: str = ""
    models: str = ""
    splits: str = "val1,val2"
    clip_seconds: float = 3.0
    loudness_lufs: float = -23.0
    min_clip_seconds: float = 0.25
    pool_sessions: bool = True
    audition_model: str = ""
    abx_model: str = ""
    abx_split: str = "val2"
    abx_trials: int = 16
    abx_path: str = ""

    def __post_init__(self) -> None:
        for name in ("interactive", "pool_sessions"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(problem(
                    name, found=repr(getattr(self, name)), expected="True or False",
                    fix=f"write {name} = True or {name} = False",
                ))
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise ParameterError(problem("seed", found=repr(self.seed), expected="an integer",
                                         fix="write seed = 0"))
        if not isinstance(self.run_dir, str | os.PathLike) or not str(self.run_dir):
            raise ParameterError(problem("run_dir", found=repr(self.run_dir),
                                         expected="a run folder path",
                                         fix='write run_dir = "../reports/lab"'))
        if not isinstance(self.ratings_path, str | os.PathLike):
            raise ParameterError(problem(
                "ratings_path", found=repr(self.ratings_path), expected="a file path or \"\"",
                fix='write ratings_path = "" (reports/listening/ratings.jsonl)'))
        if not self.split_names:
            raise ParameterError(problem(
                "splits", found=repr(self.splits), expected="at least one of val1, val2",
                fix='write splits = "val1,val2"',
            ))
        for s in self.split_names:
            if s not in SPLITS:
                raise unknown_name("split", s, list(SPLITS))
        for m in self.model_names:
            if m in RESERVED:
                raise ParameterError(problem(
                    f"model {m!r}", found="a name reserved for the target, the input or the controls",
                    expected="a model name other than " + ", ".join(sorted(RESERVED)),
                    fix="rename the model",
                ))
        if not isinstance(self.audition_model, str):
            raise ParameterError(problem(
                "audition_model", found=repr(self.audition_model),
                expected='a model name, or "" for the first knob-conditioned one',
                fix='write audition_model = ""'))
        self._check_abx()
        _check_number("clip_seconds", self.clip_seconds, 0.25, 30, unit="a number of seconds",
                      fix="write clip_seconds = 3.0 (the thesis's raters heard a few seconds)")
        _check_number("loudness_lufs", self.loudness_lufs, -60, -6, unit="a level (LUFS)",
                      fix="write loudness_lufs = -23.0 (the broadcast reference level)")
        _check_number("min_clip_seconds", self.min_clip_seconds, 0.01, 30,
                      unit="a number of seconds", fix="write min_clip_seconds = 0.25")

    def _check_abx(self) -> None:
        if not isinstance(self.abx_model, str) or self.abx_model.strip() in RESERVED:
            raise ParameterError(problem(
                "abx_model", found=repr(self.abx_model),
                expected='a model name (not the target, the input or a control), or "" for the '
                         "best network rendered",
                fix='write abx_model = ""'))
        if self.abx_split not in SPLITS:
            raise unknown_name("split (abx_split)", self.abx_split, list(SPLITS))
        n = self.abx_trials
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) \
                or not 1 <= n <= ABX_MAX_TRIALS:
            raise ParameterError(problem(
                "abx_trials", found=repr(n),
                expected=f"a whole number of trials in [1, {ABX_MAX_TRIALS}]",
                fix="write abx_trials = 16 (12 correct of 16 give p < 0.05; fix N before the "
                    "session starts)"))
        if not isinstance(self.abx_path, str | os.PathLike):
            raise ParameterError(problem(
                "abx_path", found=repr(self.abx_path), expected="a file path or \"\"",
                fix='write abx_path = "" (reports/listening/abx.jsonl)'))

    @property
    def model_names(self) -> tuple[str, ...]:
        """The models asked for, as a tuple (empty: every model rendered)."""
        return _parse_names(self.models, what="models")

    @property
    def split_names(self) -> tuple[str, ...]:
        """The clips' splits, as a tuple."""
        return _parse_names(self.splits, what="splits")

    @functools.cached_property
    def run_folder(self) -> Path:
        """The run folder tested: ``run_dir``, or its sibling ``latest`` when opened by hand.

        When ``interactive`` and ``run_dir`` has no rendered outputs, the sibling ``latest`` (the
        newest run of the pipeline, a symlink) is used instead if it has them, so that opening the
        notebook by hand after ``make report`` tests that run (:attr:`note` says so). Resolved
        once, on first use.
        """
        run = Path(self.run_dir)
        if self.interactive and not rendered_models(run, splits=self.split_names):
            latest = run.parent / "latest"
            if rendered_models(latest, splits=self.split_names):
                return latest
        return run

    @property
    def note(self) -> str:
        """What was decided about ``run_dir`` (a fallback to ``reports/latest``), or ``""``."""
        run = Path(self.run_dir)
        if self.run_folder == run:
            return ""
        return (f"{run} has no rendered outputs; using {self.run_folder} "
                f"(-> {self.run_folder.resolve().name}), the newest run.")

    @property
    def ratings_file(self) -> Path:
        """The shared ratings file: ``ratings_path``, or ``reports/listening/ratings.jsonl``."""
        return Path(self.ratings_path) if str(self.ratings_path) else default_ratings_path(
            self.run_folder)

    @property
    def abx_file(self) -> Path:
        """The shared ABX answers file: ``abx_path``, or ``reports/listening/abx.jsonl``."""
        return Path(self.abx_path) if str(self.abx_path) else default_abx_path(self.run_folder)

    @property
    def figure_path(self) -> Path:
        """Where the ratings figure goes: ``<run folder>/figures/listening_ratings.png``."""
        return self.run_folder / "figures" / "listening_ratings.png"

    def describe(self) -> str:
        """A short Markdown summary of the configuration, loudness measure included."""
        return (
            f"Run folder `{self.run_folder}`; ratings file `{self.ratings_file}`; "
            f"models {', '.join(self.model_names) or 'all rendered'}; clips "
            f"{', '.join(self.split_names)}, {self.clip_seconds} s each at {self.loudness_lufs} "
            f"LUFS ({LOUDNESS_METHOD}); session seed {self.seed}; "
            f"{'all sessions pooled' if self.pool_sessions else 'this session only'}. "
            f"ABX: model {self.abx_model or 'the best network rendered'} on {self.abx_split}, "
            f"{self.abx_trials} trials; answers file `{self.abx_file}`."
            + (f" {self.note}" if self.note else "")
        )
