"""Evaluation: render every trained model on the validation splits, measure, plot, tabulate.

The thesis's quantitative tests (section 3.5.1: MSE, and for the CNN a 12-bit "accuracy"), the
spectral comparison it made by eye (Figs. 12-13) made into numbers, and its results beside ours.

- :data:`THESIS_VALIDATION_MSE`  the thesis's reported validation errors (sections 4.1-4.3)
- :class:`EvalConfig`        every setting of an evaluation (frozen; notebook 03 builds it)
- :func:`find_models`        the trained models of a run folder (``models/<name>/``)
- :func:`render`             one model's output for a whole signal, through the fastest exact path
- :func:`score`              every metric of one (target, output) pair (any material, a user's file)
- :func:`evaluate_run`       render, measure and plot every model; writes ``rendered/``,
  ``metrics.json``, ``metrics.csv`` and ``figures/``; returns an :class:`Evaluation`
- :func:`combined_measure`   the thesis's measure: MSE over V2 then V1, every model on the same stretch
- :func:`answers`            the thesis's questions answered from like-for-like numbers only
- :func:`results_table_html` the report's results table, the thesis's networks three ways
  (:func:`thesis_networks_html`: the thesis's figure, fxlab's reference run, this run) and answers
- :func:`audio_players_html` HTML audio players: target and each model's output, short excerpts
- :func:`score_over_levels`  every model against input peak level (-30 to 0 dBFS) on real
  recordings, the training range beside it (:func:`score_run_levels` for a run folder,
  :func:`level_grid`, :func:`training_levels`, :func:`levels_html`; module ``levels``; the
  figure: :func:`fxlab.plots.evaluation.plot_esr_vs_level`)
- :func:`score_over_knobs`   knob-conditioned models at seen and unseen settings on real recordings
  (:func:`evaluation_settings`, :func:`knob_table_html`; module ``knobs``; the figure:
  :func:`fxlab.plots.evaluation.plot_error_vs_knob`)
- :func:`score_visqol`      ViSQOL v3 (a perceptual MOS-LQO) of every model on every clip, the
  target against itself and the dry input as controls, and its rank agreement with the ESR
  (:func:`visqol_html`; module ``visqol``, measured by :mod:`fxlab.perceptual`)
- :func:`run_aliasing`       a conditioned run's aliasing and harmonics over a grid of tones, effect
  against each model per setting (module ``aliasing``, measured by :mod:`fxlab.aliasing`; the
  figure: :func:`fxlab.plots.evaluation.plot_aliasing`)

Modules, lowest first: ``thesis`` (the thesis's figures and :func:`combined_measure`),
``trained`` (:func:`find_models`), ``visqol`` (the perceptual score), ``levels`` (every model against input level), ``reference``
(fxlab's reference run of the thesis's networks), ``tables`` (answers, results table, players),
``config`` (:class:`EvalConfig`, :class:`Evaluation`; re-exports the thesis's figures), ``knobs``
(knob-conditioned models), ``aliasing`` (their aliasing), ``run`` (rendering, metrics, figures, the files written). The figures
are drawn by :mod:`fxlab.plots.evaluation`.

Choices (where the thesis is silent)
------------------------------------
- Windowed (thesis) models cost a whole window of recurrent steps per output sample, so on a CPU
  they are evaluated on an excerpt of each clip (``windowed_eval_seconds``: the loudest stretch of
  the target, with ``context_samples`` of input before it so the window is full); the table says
  so. Sample-level models run on whole clips (``sample_eval_seconds = 0``).
- Metrics of an excerpt are computed on the same excerpt for target and output.
- "Preserves the spectrum" means: log-spectral distance on every split <= ``lsd_threshold_db``
  and, for a linear effect, the measured magnitude response within ``response_threshold_db`` of the
  effect's on both sides of the cutoff (20 Hz-20 kHz). Both thresholds default to 1 dB, about
  the smallest level change listeners notice on broadband material.
- "Does best" means: the lowest MSE on the thesis's own measure -- its validation audio, the voice
  clip followed by the synthetic one (Fig. 15) -- every model on the same stretch of each clip.
  The thesis's figures are compared with fxlab's reproduction of the same network on that measure
  only; the modern networks with the reproduction on the same data only.
"""

from fxlab.evaluate.aliasing import run_aliasing
from fxlab.evaluate.config import (
    SPLIT_LABELS,
    SPLIT_NAMES,
    THESIS_VALIDATION_MSE,
    EvalConfig,
    Evaluation,
    FigureInfo,
)
from fxlab.evaluate.knobs import (
    evaluation_settings,
    knob_harmonics,
    knob_table_html,
    score_over_knobs,
)
from fxlab.evaluate.levels import (
    level_grid,
    levels_html,
    score_over_levels,
    score_run_levels,
    training_levels,
)
from fxlab.evaluate.run import combined_measure, evaluate_run, find_models, render, score
from fxlab.evaluate.tables import (
    answers,
    audio_players_html,
    recordings_html,
    results_table_html,
    thesis_networks_html,
    training_info,
)
from fxlab.evaluate.visqol import score_visqol, visqol_html

__all__ = [
    "SPLIT_LABELS",
    "SPLIT_NAMES",
    "THESIS_VALIDATION_MSE",
    "EvalConfig",
    "FigureInfo",
    "Evaluation",
    "find_models",
    "render",
    "score",
    "evaluate_run",
    "combined_measure",
    "recordings_html",
    "thesis_networks_html",
    "training_info",
    "answers",
    "results_table_html",
    "audio_players_html",
    "evaluation_settings",
    "knob_harmonics",
    "run_aliasing",
    "score_over_knobs",
    "knob_table_html",
    "level_grid",
    "levels_html",
    "score_over_levels",
    "score_run_levels",
    "training_levels",
    "score_visqol",
    "visqol_html",
]
