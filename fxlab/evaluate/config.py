"""What an evaluation is set to do and what it returns: :class:`EvalConfig`, :class:`Evaluation`.

- :class:`EvalConfig`   every setting of an evaluation (frozen; notebook 03 builds it)
- :class:`FigureInfo`   a saved figure and its caption
- :class:`Evaluation`   what :func:`fxlab.evaluate.evaluate_run` made; ``table_html()`` is its
  results table (:func:`fxlab.evaluate.tables.results_table_html`)

The thesis's figures (:data:`THESIS_VALIDATION_MSE`, :data:`THESIS_MODELS`, :data:`SPLIT_LABELS`,
:data:`SPLIT_NAMES`, ...) live in :mod:`fxlab.evaluate.thesis` and are re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from fxlab import response
from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.evaluate.tables import results_table_html
from fxlab.evaluate.thesis import (
    SPLIT_LABELS,
    SPLIT_NAMES,
    THESIS_MODELS,
    THESIS_SHORT,
    THESIS_VALIDATION_MSE,
)
from fxlab.perceptual import MIN_SECONDS
from fxlab.util import NotebookConfig

__all__ = ["Evaluation", "EvalConfig", "FigureInfo", "SPLIT_LABELS", "SPLIT_NAMES", "THESIS_MODELS",
           "THESIS_SHORT", "THESIS_VALIDATION_MSE"]

RESPONSE_METHODS = response.RESPONSE_METHODS


@dataclass(frozen=True)
class EvalConfig(NotebookConfig):
    """Every setting of an evaluation: notebook 03's parameters, frozen (field names equal them).

    The notebook builds it in one line: ``config = evaluate.EvalConfig.from_parameters(globals())``.

    Attributes
    ----------
    run_dir : str
        The run folder holding ``data/`` and ``models/``.
    seed : int
        The study's seed (the evaluation itself draws no random numbers).
    windowed_eval_seconds : float >= 0
        Length of the excerpt of each clip the windowed (thesis) models are evaluated on, seconds;
        0 means whole clips.
    sample_eval_seconds : float >= 0
        The same for sample-level models (0: whole clips, the default).
    recordings_peak_dbfs : float <= 0, or None
        The shipped real instrument recordings (:mod:`fxlab.recordings`: guitar, piano, tabla, a
        drum roll; never in any training set), each scaled to this peak level, are put through
        the run's effect and every sample-level model is scored on them (``metrics.json``'s
        ``recordings``); windowed models too when they are scored on whole clips. None: not
        scored.
    level_step_db : float >= 0
        Every sample-level model (and any non-windowed kind) is scored against input level
        (:mod:`fxlab.evaluate.levels`): the real instrument recordings at peaks from -30 to 0 dBFS
        in this step, the trained range marked (``metrics.json``'s ``levels``, figure
        ``levels.png``); 0: not scored.
    level_seconds : float > 0
        The loudest this many seconds of each instrument recording are what the level sweep plays.
    visqol : bool
        Score every model's output by ViSQOL v3 (:mod:`fxlab.evaluate.visqol`): a perceptual
        MOS-LQO per model and clip (V1, V2, each instrument recording), with the target against
        itself and the dry input against the target as controls (``metrics.json``'s ``visqol``,
        ``visqol_controls`` and each model's ``visqol``); False: not scored.
    visqol_seconds : float, 0 or >= 0.96
        The loudest this many seconds of each clip are scored (about 0.2 s of CPU per second of
        audio per model); 0: whole clips. ViSQOL needs at least 0.96 s.
    aliasing_tones : int
        A knob-conditioned run's aliasing and harmonics (:func:`fxlab.evaluate.aliasing.run_aliasing`):
        this many tones from 50 Hz to 8 kHz (1.8 s each) through the effect and each conditioned
        model at a seen and the unseen settings; 0: not measured, else 2 to 200.
    aliasing_levels : str
        Their peak levels, dBFS, comma-separated (e.g. "-12,0").
    combined_excerpt_seconds : float >= 0
        The thesis's measure is also taken on the loudest this many seconds of each clip
        (``metrics.json``'s ``combined_excerpts``; the quick profile's windowed excerpts), so a
        run scored on whole clips gives the number that compares with a run scored on excerpts;
        0: not taken.
    context_samples : int >= 0
        Input samples fed before an excerpt (outputs discarded) so windows and states are warm;
        for a windowed model at most its window - 1 (all its output can see).
    response_method : {"sweep", "impulse"}
        Test signal of the magnitude response of sample-level models.
    windowed_response_method : {"sweep", "impulse"}
        The same for windowed models (an impulse: far fewer samples to render).
    response_level_dbfs : float <= 0
        Peak level of the test signal, dB full scale.
    response_seconds : float > 0
        Length of the sweep (sample-level models), seconds.
    windowed_response_samples : int >= 64
        Length of the test signal for windowed models, samples (plus a tail of the same length);
        an impulse response of a windowed model is at most one window long, so twice the window
        suffices.
    cutoff_hz : float > 0
        Where deviations are split into "below" and "above" (the study's 440 Hz high-pass).
    lsd_threshold_db, response_threshold_db : float > 0
        The thresholds of "preserves the spectrum" (see the module docstring).
    figure_split : str
        The split drawn in the time, spectrum and spectrogram figures.
    figure_seconds : float > 0
        Length of the excerpt drawn in the time and spectrogram figures, seconds.
    player_seconds : float > 0
        Length of each audio player's excerpt, seconds.

    The validation splits rendered and measured are :attr:`splits` (Validation 1 and 2).
    """

    splits: ClassVar[tuple[str, ...]] = ("val1", "val2")

    run_dir: str = "../reports/lab"
    seed: int = 0
    windowed_eval_seconds: float = 0.5
    sample_eval_seconds: float = 0.0
    combined_excerpt_seconds: float = 0.05
    recordings_peak_dbfs: float | None = -12.0
    level_step_db: float = 3.0
    level_seconds: float = 0.5
    visqol: bool = True
    visqol_seconds: float = 2.0
    aliasing_tones: int = 20
    aliasing_levels: str = "-12,0"
    context_samples: int = 2048
    response_method: str = "sweep"
    windowed_response_method: str = "impulse"
    response_level_dbfs: float = -12.0
    response_seconds: float = 1.0
    windowed_response_samples: int = 4096
    cutoff_hz: float = 440.0
    lsd_threshold_db: float = 1.0
    response_threshold_db: float = 1.0
    figure_split: str = "val2"
    figure_seconds: float = 2.0
    player_seconds: float = 3.0

    @property
    def aliasing_levels_dbfs(self) -> list[float]:
        """:attr:`aliasing_levels` as floats (refused unless levels <= 0 dBFS)."""
        from fxlab.harmonics import check_levels

        try:
            values = [float(v) for v in str(self.aliasing_levels).split(",") if v.strip()]
        except ValueError:
            values = [str(self.aliasing_levels)]
        return check_levels(values, "aliasing_levels")

    def __post_init__(self):
        if not (isinstance(self.level_step_db, int | float) and math.isfinite(self.level_step_db)
                and 0 <= self.level_step_db <= 30):
            raise ParameterError(problem(
                "level_step_db", found=repr(self.level_step_db),
                expected="a step in dB from 0 (not scored) to 30",
                fix="set level_step_db = 3.0 (or 0 to skip the level sweep)"))
        if isinstance(self.aliasing_tones, bool) or not isinstance(self.aliasing_tones, int) \
                or not (self.aliasing_tones == 0 or 2 <= self.aliasing_tones <= 200):
            raise ParameterError(problem(
                "aliasing_tones", found=repr(self.aliasing_tones), expected="0 (not measured) or 2 to 200",
                fix="set aliasing_tones = 20 (or 0 to skip the aliasing measurement)"))
        if not isinstance(self.visqol, bool):
            raise ParameterError(problem(
                "visqol", found=repr(self.visqol), expected="True or False",
                fix="set visqol = True (or False to skip the perceptual score)"))
        v = self.visqol_seconds
        if isinstance(v, bool) or not (isinstance(v, int | float) and math.isfinite(v)
                                       and (v == 0 or v >= MIN_SECONDS)):
            raise ParameterError(problem(
                "visqol_seconds", found=repr(v),
                expected=f"0 (whole clips) or a length in seconds >= {MIN_SECONDS:g} (ViSQOL's "
                         "shortest)", fix="set visqol_seconds = 2.0"))
        self.aliasing_levels_dbfs  # noqa: B018 -- checks the levels, naming a bad one
        for name in ("windowed_eval_seconds", "sample_eval_seconds", "combined_excerpt_seconds"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v >= 0):
                raise ParameterError(problem(
                    name, found=repr(v), expected="a length in seconds >= 0 (0: whole clips)",
                    fix=f"set {name} = 0.5 (or 0 for whole clips)"))
        for name in ("response_seconds", "figure_seconds", "player_seconds", "cutoff_hz", "level_seconds",
                     "lsd_threshold_db", "response_threshold_db"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ParameterError(problem(
                    name, found=repr(v), expected="a number > 0",
                    fix=f"set {name} to a positive value (default {getattr(EvalConfig, name)})"))
        v = self.recordings_peak_dbfs
        if v is not None and not (isinstance(v, int | float) and math.isfinite(v) and v <= 0):
            raise ParameterError(problem(
                "recordings_peak_dbfs", found=repr(v), expected="a level in dBFS <= 0, or None",
                fix="set recordings_peak_dbfs = -12.0 (or None to skip the real recordings)"))
        for name in ("response_method", "windowed_response_method"):
            if getattr(self, name) not in RESPONSE_METHODS:
                raise unknown_name("response method", getattr(self, name), RESPONSE_METHODS)
        if not (isinstance(self.response_level_dbfs, int | float) and self.response_level_dbfs <= 0):
            raise ParameterError(problem(
                "response_level_dbfs", found=repr(self.response_level_dbfs),
                expected="a level in dB full scale <= 0", fix="use e.g. -12"))
        if not (isinstance(self.context_samples, int) and self.context_samples >= 0):
            raise ParameterError(problem(
                "context_samples", found=repr(self.context_samples),
                expected="an integer >= 0", fix="use e.g. 2048 (more than the longest window)"))
        if not (isinstance(self.windowed_response_samples, int)
                and self.windowed_response_samples >= 64):
            raise ParameterError(problem(
                "windowed_response_samples", found=repr(self.windowed_response_samples),
                expected="an integer >= 64", fix="use e.g. 4096"))



@dataclass(frozen=True)
class FigureInfo:
    """A saved figure: ``path`` (PNG in ``run_dir/figures``), ``caption`` (one paragraph)."""

    path: Path
    caption: str


@dataclass
class Evaluation:
    """What :func:`evaluate_run` made.

    Attributes
    ----------
    run_dir : Path
    metrics : dict
        The content of ``metrics.json``.
    figures : list of FigureInfo
        In the order the report shows them.
    """

    run_dir: Path
    metrics: dict
    figures: list[FigureInfo] = field(default_factory=list)

    def table_html(self) -> str:
        """The results table of this run (see :func:`fxlab.evaluate.results_table_html`)."""
        return results_table_html(self.run_dir)
