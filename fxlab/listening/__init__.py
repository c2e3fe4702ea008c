"""The blind A/B listening test and the ABX test: trials, widgets, append-only answer stores, aggregation.

The thesis (sections 3.5.2 and 4.1.2) asked 9 people how similar each network's output sounded to
its target, on four answers (:data:`ANSWERS`): 1 "Not similar at all", 2 "Some similarities",
3 "Almost the same", 4 "The same". Its LSTM scored a mean of 2.25. This package makes that test
something anyone can take in JupyterLab and that the report can aggregate. One job per module;
every public name is re-exported here, so ``from fxlab import listening; listening.X`` works:

:mod:`~fxlab.listening.scale`
    :data:`ANSWERS`, the hidden controls :data:`CONTROL_SAME` / :data:`CONTROL_DRY`
    (:data:`CONTROLS`), and :data:`THESIS_LSTM`, the thesis's result shown beside ours.
:mod:`~fxlab.listening.loudness`
    Level matching: :func:`loudness` (ITU-R BS.1770-4 integrated loudness, gated, by pyloudnorm;
    clips under 400 ms ungated), :func:`match_gains`, :func:`k_weighting_coefficients`,
    :data:`LOUDNESS_METHOD` (recorded in ``trials.json``).
:mod:`~fxlab.listening.trials`
    :class:`Trial`, :class:`TrialSet`, :func:`prepare_trials` (cut, level-match and write the clips
    of a run into ``<run_dir>/listening/``), :func:`load_trials`, :func:`rendered_models`,
    :func:`rater_order` (a rater's order and A/B sides, seeded by name and session seed),
    :func:`normalize_rater`.
:mod:`~fxlab.listening.store`
    :class:`RatingsStore` appends each answer at once to a JSONL file (``O_APPEND``, fsync'ed,
    never rewritten); :func:`read_ratings` skips a torn line; :func:`default_ratings_path`; the
    same for the ABX answers: :class:`AbxStore`, :func:`read_abx`, :func:`default_abx_path`.
:mod:`~fxlab.listening.aggregate`
    :func:`latest_answers`, :func:`rater_status` (the controls), :func:`mean_ci95`,
    :func:`aggregate` (per model, raters who failed the controls excluded), :func:`write_aggregate`
    (``<run_dir>/listening/aggregate.json``) and :func:`aggregate_html` (the report's section); the
    figure is :func:`fxlab.plots.listening.plot_aggregate`.
:mod:`~fxlab.listening.widget`
    :class:`ListeningWidget` (ipywidgets) and :func:`listening_widget`, which shows it when
    someone is at the keyboard and a note otherwise.
:mod:`~fxlab.listening.abx`
    The ABX test (can a rater tell a model's output from its target at all?):
    :class:`AbxSession`, :func:`prepare_abx` (the chosen model's clip and its target, cut and
    matched as their A/B trial, into ``<run_dir>/listening/abx/``), :func:`load_abx`,
    :func:`abx_order` (what X is in each of a rater's N trials, seeded by name and session seed).
:mod:`~fxlab.listening.abx_stats`
    :func:`binomial_p_value` (exact one-sided), :func:`needed_correct` (12 of 16 for p < 0.05),
    :func:`abx_verdict`, :func:`abx_sessions`, :func:`abx_aggregate` (per completed session and
    pooled per model and clip), :func:`write_abx_aggregate` (``<run_dir>/listening/abx.json``)
    and :func:`abx_html` (the report's ABX table).
:mod:`~fxlab.listening.abx_widget`
    :class:`AbxWidget` (ipywidgets: players A, B and X, "X is A" / "X is B") and
    :func:`abx_widget`, which shows it when someone is at the keyboard and a note otherwise.
:mod:`~fxlab.listening.audition`
    :class:`KnobAudition` (ipywidgets: a knob-conditioned model against its effect at any knob
    setting, with the ESR and whether the setting was trained on) and :func:`knob_audition`, which
    shows it when someone is at the keyboard and a table of the ESR at a few settings otherwise;
    :func:`audition_clips`, :func:`render_setting`, :func:`setting_status`,
    :func:`audition_settings`, :func:`audition_summary`, :func:`summary_html`,
    :func:`conditioned_models`, :func:`run_conditioning`.
:mod:`~fxlab.listening.page`
    The raters' page, the two tests without code (Voilà): :func:`page_config` (the notebook's
    parameters, then ``FXLAB_LISTEN``, which ``fxlab listen`` sets), :func:`rater_page` (the A/B
    and ABX widgets in tabs), :data:`PAGE_NOTEBOOK`, :func:`page_environment`.
:mod:`~fxlab.listening.server`
    ``fxlab listen``: :func:`check_run` (a run folder with rendered audio), :func:`listen_config`,
    :func:`voila_command`, :func:`serve` (prepare, start Voilà, print the address, stop on Ctrl-C).
:mod:`~fxlab.listening.config`
    :class:`ListeningConfig`, the notebook's frozen configuration:
    ``config = listening.ListeningConfig.from_parameters(globals())``.

The notebook's calls: ``prepare_trials(config)``, ``listening_widget(trial_set, config)``,
``knob_audition(config)``, ``write_aggregate(config, session=trial_set.session)``, ``aggregate_html(agg)``,
for the figure ``fxlab.plots.listening.plot_aggregate(agg, path=config.figure_path)``, and for the
ABX test ``prepare_abx(config)``, ``abx_widget(abx_session, config)``,
``write_abx_aggregate(config, session=abx_session.session)``, ``abx_html(abx)``.
"""

from fxlab.listening.abx import AbxSession, abx_order, load_abx, prepare_abx
from fxlab.listening.abx_stats import (
    abx_aggregate,
    abx_html,
    abx_sessions,
    abx_verdict,
    binomial_p_value,
    needed_correct,
    write_abx_aggregate,
)
from fxlab.listening.abx_widget import AbxWidget, abx_widget
from fxlab.listening.aggregate import (
    aggregate,
    aggregate_html,
    latest_answers,
    mean_ci95,
    rater_status,
    write_aggregate,
)
from fxlab.listening.audition import (
    KnobAudition,
    audition_clips,
    audition_settings,
    audition_summary,
    conditioned_models,
    knob_audition,
    render_setting,
    run_conditioning,
    setting_status,
    summary_html,
)
from fxlab.listening.config import ListeningConfig
from fxlab.listening.loudness import (
    LOUDNESS_METHOD,
    k_weighting_coefficients,
    loudness,
    match_gains,
)
from fxlab.listening.page import PAGE_NOTEBOOK, page_config, page_environment, rater_page
from fxlab.listening.scale import ANSWERS, CONTROL_DRY, CONTROL_SAME, CONTROLS, THESIS_LSTM
from fxlab.listening.server import check_run, listen_config, serve, voila_command
from fxlab.listening.store import (
    AbxStore,
    RatingsStore,
    default_abx_path,
    default_ratings_path,
    read_abx,
    read_ratings,
)
from fxlab.listening.trials import (
    STUDY_SR,
    Trial,
    TrialSet,
    load_trials,
    normalize_rater,
    prepare_trials,
    rater_order,
    rendered_models,
)
from fxlab.listening.widget import ListeningWidget, listening_widget

__all__ = [
    "ANSWERS",
    "CONTROL_DRY",
    "CONTROL_SAME",
    "CONTROLS",
    "LOUDNESS_METHOD",
    "PAGE_NOTEBOOK",
    "STUDY_SR",
    "THESIS_LSTM",
    "AbxSession",
    "AbxStore",
    "AbxWidget",
    "KnobAudition",
    "ListeningConfig",
    "ListeningWidget",
    "RatingsStore",
    "Trial",
    "TrialSet",
    "abx_aggregate",
    "abx_html",
    "abx_order",
    "abx_sessions",
    "abx_verdict",
    "abx_widget",
    "aggregate",
    "aggregate_html",
    "audition_clips",
    "audition_settings",
    "audition_summary",
    "binomial_p_value",
    "check_run",
    "conditioned_models",
    "default_abx_path",
    "default_ratings_path",
    "rendered_models",
    "k_weighting_coefficients",
    "knob_audition",
    "latest_answers",
    "listen_config",
    "listening_widget",
    "load_abx",
    "load_trials",
    "loudness",
    "match_gains",
    "mean_ci95",
    "needed_correct",
    "page_config",
    "page_environment",
    "normalize_rater",
    "prepare_abx",
    "prepare_trials",
    "rater_order",
    "rater_page",
    "rater_status",
    "read_abx",
    "read_ratings",
    "render_setting",
    "run_conditioning",
    "serve",
    "setting_status",
    "summary_html",
    "voila_command",
    "write_abx_aggregate",
    "write_aggregate",
]
