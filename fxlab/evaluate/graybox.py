"""The thesis's question in two columns: the traditional emulator against the best network.

The thesis concluded that neural networks cannot stand in for traditional effect emulators
(:data:`THESIS_CLAIM`). fxlab trains a traditional emulator beside the networks -- ``graybox``
(:mod:`fxlab.models.graybox`: a parametric EQ; for a drive, a static curve between two EQs) -- on
the same data, so a finished run answers the question with its own numbers. This module reads the
run folder and sets the emulator beside the best sample-level network:

- accuracy: ESR at knob settings never trained on (conditioned runs; ``metrics.json``'s
  ``knobs``), ESR on the real instrument recordings (``recordings``), ESR and MSE on the
  validation clips (``combined``: the thesis's measure), the largest log-spectral distance, the
  largest magnitude-response deviation (a linear effect), the THD and the worst harmonic error of
  a 1 kHz sine at 0 dBFS (a nonlinear effect; :func:`measure_run_harmonics`);
- cost: microseconds per output sample and the real-time factor at 64-sample blocks
  (``latency.json``), parameters;
- training: wall time (``models/<name>/summary.json``).

"The best network" is chosen as the report's answers choose it
(:func:`fxlab.evaluate.tables.answers`): the sample-level network with the lowest MSE on the
thesis's measure, the emulator left out. Whether the effect is linear comes from the data set's
manifest (:attr:`fxlab.effects.Effect.is_linear`). A number the run lacks reads "not measured";
a run without the emulator says so. The verdict is computed from the numbers, never written in
advance: one accuracy measure (the first of :data:`VERDICT_ACCURACY` both columns have) and the
cost per output sample, each compared by their ratio (within :data:`SAME_RATIO` reads "about
the same").

- :func:`compare_run`            a run folder -> :class:`Comparison` (rows, verdict, where each wins)
- :func:`comparison_html`        the report's section: the table, the verdict, the thesis's claim
- :func:`measure_run_harmonics`  a 1 kHz sine through the run's effect and models (an unseen
  setting for a conditioned run)
- :func:`harmonics_summary`      THD and worst harmonic error of a model against the effect
- :class:`Row`, :class:`Comparison`, :data:`THESIS_CLAIM`
"""

from __future__ import annotations

import html
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from fxlab.errors import LevelWarning, ParameterError, problem
from fxlab.util import Html, fmt, html_table

__all__ = ["HARMONIC_FLOOR_DB", "SAME_DB", "SAME_RATIO", "THESIS_CLAIM", "VERDICT_ACCURACY", "Comparison", "Row",
           "compare_run", "comparison_html", "harmonics_summary", "measure_run_harmonics"]


def _thesis_claim() -> str:
    from fxlab.latency.config import THESIS_MS_PER_SAMPLE, THESIS_RTF

    return (f"The thesis concluded that neural networks cannot stand in for traditional effect "
            f"emulators: its LSTM cost {THESIS_MS_PER_SAMPLE:g} ms per output sample (real-time "
            f"factor {THESIS_RTF:.3g}) and did not preserve the spectrum (the thesis's claim and "
            f"figures, on its 440 Hz high-pass).")


#: The thesis's conclusion, with its own figures (labelled as the thesis's).
THESIS_CLAIM = _thesis_claim()
#: Two values within this ratio are "about the same".
SAME_RATIO = 1.5
#: Two values in dB within this difference are "about the same".
SAME_DB = 0.1
#: Two ViSQOL scores (MOS-LQO) this close are "about the same" (1 % of the scale's 1-5 range).
SAME_MOS = 0.04
#: THD values (in dB) this close to each other's distance from the effect's are "about the same".
SAME_THD_DB = 0.5
#: The worst harmonic error raises every harmonic to this level relative to the fundamental
#: first (dB): below it a difference says little one hears.
HARMONIC_FLOOR_DB = -60.0
#: The accuracy measure the verdict reads: the first of these both columns have.
VERDICT_ACCURACY = ("esr_unseen_max", "esr_recordings", "esr_combined", "mse_combined")

#: (key, group, label, short label, kind, applies to: "all" | "linear" | "nonlinear" | "knobs")
_ROWS = (
    ("esr_unseen_max", "accuracy", "worst ESR at knob settings never trained on (real recordings)",
     "worst unseen-setting ESR", "ratio", "knobs"),
    ("esr_unseen_mean", "accuracy", "mean ESR at knob settings never trained on (real recordings)",
     "mean unseen-setting ESR", "ratio", "knobs"),
    ("esr_recordings", "accuracy", "ESR on real instruments never trained on",
     "ESR on real instruments", "ratio", "all"),
    ("esr_combined", "accuracy", "ESR on the validation clips (V2 then V1)", "ESR V2+V1", "ratio",
     "all"),
    ("mse_combined", "accuracy", "MSE on the validation clips (V2 then V1: the thesis's measure)",
     "MSE V2+V1", "ratio", "all"),
    ("lsd_db", "accuracy", "largest log-spectral distance, validation clips (dB)",
     "log-spectral distance", "db", "all"),
    ("response_db", "accuracy", "largest magnitude-response deviation, 20 Hz-20 kHz (dB)",
     "magnitude response", "db", "linear"),
    ("visqol", "accuracy", "ViSQOL MOS-LQO, mean over the clips both were scored on (higher is "
     "better; identical signals about 4.73)", "perceptual score", "mos", "all"),
    ("visqol_unseen_min", "accuracy", "worst ViSQOL at knob settings never trained on (higher is "
     "better)", "unseen-setting perceptual score", "mos", "knobs"),
    ("thd_percent", "accuracy", "THD of a 1 kHz sine at 0 dBFS (%)", "THD", "thd", "nonlinear"),
    ("harmonic_error_db", "accuracy", "worst harmonic error, 1 kHz sine at 0 dBFS (dB)",
     "harmonic levels", "db", "nonlinear"),
    ("us_per_sample", "cost", "µs per output sample (64-sample blocks, one core)",
     "cost per output sample", "ratio", "all"),
    ("rtf_64", "cost", "real-time factor at 64-sample blocks", "real-time factor", "ratio", "all"),
    ("params", "cost", "parameters", "parameters", "ratio", "all"),
    ("train_s", "training", "training wall time (s)", "training time", "ratio", "all"),
)


@dataclass(frozen=True)
class Row:
    """One measure in both columns.

    ``graybox`` and ``network`` are None where the run did not measure it. ``kind``: ``"ratio"``
    (lower is better, compared by ratio), ``"db"`` (lower is better, compared by difference) or
    ``"thd"`` (closer to ``target``, the effect's value, is better) or ``"mos"`` (a ViSQOL
    score: higher is better, compared by difference); ``short``: the name the
    verdict's lists use. ``winner``: ``"graybox"``,
    ``"network"``, ``"same"`` or None (not both measured); ``factor``: how many times better
    (``"ratio"`` rows), ``margin_db``: by how many dB (``"db"`` and ``"thd"`` rows) or MOS
    points (``"mos"`` rows).
    """

    key: str
    group: str
    label: str
    short: str
    kind: str
    graybox: float | None
    network: float | None
    target: float | None = None
    winner: str | None = None
    factor: float | None = None
    margin_db: float | None = None


@dataclass(frozen=True)
class Comparison:
    """The thesis's question for one run (:func:`compare_run`).

    ``graybox``/``network``: the two models' names (None where the run has none);
    ``network_why``: how the network was chosen; ``linear``: the effect is linear (None: the run
    does not say); ``rows``: :class:`Row` per measure that applies to this effect; ``verdict``:
    the computed sentences; ``wins``: ``{"graybox"|"network"|"same": [labels]}``;
    ``harmonics``: the measurement the harmonic rows came from (or None).
    """

    run_dir: str
    effect: str
    linear: bool | None
    graybox: str | None
    network: str | None
    network_why: str
    rows: tuple[Row, ...]
    verdict: str
    wins: dict[str, list[str]] = field(default_factory=dict)
    harmonics: dict | None = None

    def row(self, key: str) -> Row | None:
        """The row of ``key`` (:data:`_ROWS`' keys), or None where it does not apply."""
        return next((r for r in self.rows if r.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------ reading the run folder


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _model_files(run: Path) -> dict[str, dict[str, Any]]:
    """``{folder name: {"model": the model's registry name, "summary": summary.json}}``."""
    out = {}
    root = run / "models"
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        cfg = _read_json(d / "config.json") or {}
        model = (cfg.get("model") or {}).get("name") or d.name
        out[d.name] = {"model": model, "summary": _read_json(d / "summary.json") or {}}
    return out


def _is_graybox(name: str, files: Mapping[str, Any]) -> bool:
    from fxlab.models import STRUCTURES

    model = files.get(name, {}).get("model", name)
    return STRUCTURES.get(model) == "graybox"


def _effect_of(run: Path, result: Mapping[str, Any]) -> tuple[str, bool | None, dict | None]:
    """(the effect in words, is it linear, the manifest's conditioning) from the data manifest,
    else ``metrics.json``'s effect."""
    from fxlab.effects import effect_from_spec

    manifest = _read_json(run / "data" / "manifest.json") or {}
    spec = manifest.get("effect") or result.get("effect")
    if not spec:
        return "the run's effect (not recorded)", None, manifest.get("conditioning")
    effect = effect_from_spec(spec)
    return effect.describe(), bool(effect.is_linear), manifest.get("conditioning")


def _best_network(result: Mapping[str, Any], candidates: Sequence[str]) -> tuple[str | None, str]:
    """The sample-level network with the lowest MSE on the thesis's measure (as the report's
    answers pick it), else the lowest mean validation ESR."""
    combined = (result.get("combined") or {}).get("models") or {}
    ranked = [n for n in candidates if combined.get(n, {}).get("mse") is not None]
    if ranked:
        best = min(ranked, key=lambda n: combined[n]["mse"])
        return best, (f"{best}: of this run's sample-level networks ({', '.join(candidates)}), "
                      "the lowest MSE on the thesis's measure (V2 then V1)")
    models = result.get("models", {})

    def mean_esr(n):
        v = [s.get("esr") for s in models[n]["splits"].values() if s.get("esr") is not None]
        return float(np.mean(v)) if v else math.inf

    if not candidates:
        return None, "no sample-level network was evaluated in this run"
    best = min(candidates, key=mean_esr)
    return best, f"{best}: of this run's sample-level networks, the lowest mean validation ESR"


def _values(name: str, result: Mapping[str, Any], latency: Mapping[str, Any],
            summary: Mapping[str, Any], harmonics: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every measure of one model the run holds (a key is absent or None where not measured)."""
    e = result.get("models", {}).get(name, {})
    combined = (result.get("combined") or {}).get("models", {}).get(name) or {}
    knobs = ((result.get("knobs") or {}).get("summary") or {}).get(name) or {}
    rec = ((result.get("recordings") or {}).get("models") or {}).get(name) or {}
    lsd = [s.get("lsd_db") for s in e.get("splits", {}).values() if s.get("lsd_db") is not None]
    resp = e.get("response")
    lat = ((latency.get("models") or {}).get(name) or {}).get("summary") or {}
    sr = float(latency.get("sr") or result.get("sr") or 44100)
    rtf = lat.get("rtf")
    harm = ((harmonics or {}).get("models") or {}).get(name) or {}
    agree = (((result.get("visqol") or {}).get("agreement") or {}).get("models") or {}).get(name) or {}
    return {
        "visqol": agree.get("visqol"), "visqol_unseen_min": knobs.get("visqol_unseen_min"),
        "esr_unseen_max": knobs.get("esr_unseen_max"), "esr_unseen_mean": knobs.get("esr_unseen_mean"),
        "esr_recordings": rec.get("esr"), "esr_combined": combined.get("esr"),
        "mse_combined": combined.get("mse"), "lsd_db": max(lsd) if lsd else None,
        "response_db": max(resp["below_db"], resp["above_db"]) if resp else None,
        "thd_percent": harm.get("thd_percent"), "harmonic_error_db": harm.get("harmonic_error_db"),
        "us_per_sample": rtf / sr * 1e6 if isinstance(rtf, int | float) else None,
        "rtf_64": rtf, "params": e.get("param_count") or summary.get("param_count"),
        "train_s": summary.get("wall_s"),
    }


# ------------------------------------------------------------------ comparing


def _finite(v) -> float | int | None:
    """A finite number as it is (a count stays an int), else None."""
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(float(v)):
        return None
    return v if isinstance(v, int) else float(v)


def _judge(kind: str, a: float | None, b: float | None, target: float | None) -> dict[str, Any]:
    """``winner`` (graybox = ``a``, network = ``b``), ``factor`` or ``margin_db``."""
    if a is None or b is None:
        return {}
    if kind == "ratio":
        lo, hi = min(a, b), max(a, b)
        if hi <= 0:
            return {"winner": "same", "factor": 1.0}
        factor = math.inf if lo <= 0 else hi / lo
        win = "same" if factor < SAME_RATIO else ("graybox" if a < b else "network")
        return {"winner": win, "factor": factor}
    if kind == "mos":  # higher is better
        margin = abs(a - b)
        win = "same" if margin < SAME_MOS else ("graybox" if a > b else "network")
        return {"winner": win, "margin_db": margin}
    if kind == "thd":
        if target is None or a <= 0 or b <= 0 or target <= 0:
            return {}
        a, b = abs(20 * math.log10(a / target)), abs(20 * math.log10(b / target))
        tol = SAME_THD_DB
    else:
        tol = SAME_DB
    margin = abs(a - b)
    win = "same" if margin < tol else ("graybox" if a < b else "network")
    return {"winner": win, "margin_db": margin}


def _applies(scope: str, linear: bool | None, conditioned: bool) -> bool:
    return (scope == "all" or (scope == "linear" and linear is not False)
            or (scope == "nonlinear" and linear is False) or (scope == "knobs" and conditioned))


def _rows(gb: Mapping[str, Any], net: Mapping[str, Any], *, linear: bool | None,
          conditioned: bool, harmonics: Mapping[str, Any] | None) -> tuple[Row, ...]:
    target = _finite(((harmonics or {}).get("effect") or {}).get("thd_percent"))
    rows = []
    for key, group, label, short, kind, scope in _ROWS:
        if not _applies(scope, linear, conditioned):
            continue
        a, b = _finite(gb.get(key)), _finite(net.get(key))
        t = target if kind == "thd" else None
        if kind == "thd" and t is not None:
            label = f"{label}; the effect: {fmt(t)} %"
        rows.append(Row(key, group, label, short, kind, a, b, t, **_judge(kind, a, b, t)))
    return tuple(rows)


def compare_run(run_dir: str | os.PathLike, *, harmonics: Mapping[str, Any] | None = None) -> Comparison:
    """The traditional emulator against the best network, from a finished run folder.

    Parameters
    ----------
    run_dir : path
        A run folder after step 03 (``metrics.json``); ``latency.json`` (step 05) adds the cost.
    harmonics : dict, optional
        :func:`measure_run_harmonics`'s result (default: ``metrics.json``'s ``harmonics`` when
        it holds one); only a nonlinear effect's rows read it.

    Returns
    -------
    Comparison

    Raises
    ------
    PipelineError
        If the evaluation has not run (no ``metrics.json``).
    """
    from fxlab.evaluate.tables import read_metrics

    run = Path(run_dir)
    result = read_metrics(run)
    latency = _read_json(run / "latency.json") or {}
    files = _model_files(run)
    effect, linear, cond = _effect_of(run, result)
    harmonics = harmonics if harmonics is not None else result.get("harmonics")
    models = result.get("models", {})
    grays = [n for n in models if _is_graybox(n, files)]
    nets = [n for n in models if n not in grays and models[n].get("family") == "sample"]
    network, why = _best_network(result, nets)
    combined = (result.get("combined") or {}).get("models") or {}
    graybox = min(grays, key=lambda n: combined.get(n, {}).get("mse", math.inf)) if grays else None
    base = {"run_dir": str(run), "effect": effect, "linear": linear, "graybox": graybox,
            "network": network, "network_why": why}
    if graybox is None or network is None:
        trained = [n for n in files if _is_graybox(n, files)]
        return Comparison(**base, rows=(), verdict=_absent(graybox, network, trained))
    vals = {n: _values(n, result, latency, files.get(n, {}).get("summary", {}), harmonics)
            for n in (graybox, network)}
    rows = _rows(vals[graybox], vals[network], linear=linear, conditioned=bool(cond),
                 harmonics=harmonics)
    wins = {w: [r.short for r in rows if r.winner == w] for w in ("graybox", "network", "same")}
    comp = Comparison(**base, rows=rows, verdict="", wins=wins,
                      harmonics=dict(harmonics) if harmonics else None)
    return replace(comp, verdict=_verdict(comp))


def _absent(graybox: str | None, network: str | None, trained: Sequence[str]) -> str:
    if graybox is None and trained:
        return (f"The traditional emulator was trained in this run ({', '.join(trained)}) but not "
                "evaluated: run step 03_evaluate again to answer the thesis's question.")
    if graybox is None:
        return ("The traditional emulator was not trained in this run: add graybox to notebook "
                "02's models (the quick profile trains it) to answer the thesis's question with "
                "this run's numbers.")
    return (f"No sample-level network was evaluated in this run: the traditional emulator "
            f"({graybox}) has no network to be set beside.")


# ------------------------------------------------------------------ the verdict


def _times(r: Row) -> str:
    return "infinitely" if r.factor == math.inf else f"{r.factor:.3g}×"


def _pair(r: Row, net: str) -> str:
    return f"{r.label}: the emulator {fmt(r.graybox)}, {net} {fmt(r.network)}"


def _cost_clause(cost: Row | None, net: str) -> str:
    if cost is None or cost.winner is None:
        return "its cost per sample was not measured in this run (step 05_latency)"
    if cost.winner == "same":
        return (f"about as costly per output sample ({fmt(cost.graybox)} µs against "
                f"{fmt(cost.network)} µs for {net})")
    word = "cheaper" if cost.winner == "graybox" else "costlier"
    return (f"{_times(cost)} {word} per output sample ({fmt(cost.graybox)} µs against "
            f"{fmt(cost.network)} µs for {net})")


def _verdict(c: Comparison) -> str:
    """The computed verdict: accuracy (the first :data:`VERDICT_ACCURACY` row both have), cost
    per output sample, training time, and where the emulator wins."""
    net, kind = c.network, {True: "linear", False: "nonlinear"}.get(c.linear, "")
    acc = next((r for k in VERDICT_ACCURACY if (r := c.row(k)) and r.winner), None)
    cost = c.row("us_per_sample")
    head = f"On this {kind} effect ({c.effect}),".replace("  ", " ")
    if acc is None:
        return (f"{head} the run holds no accuracy measure of both the traditional emulator and "
                f"{net}: the question is not answered.")
    cost_text = _cost_clause(cost, net)
    measured = cost is not None and cost.winner is not None
    cheap = measured and cost.winner in ("graybox", "same")
    if acc.winner == "graybox":
        text = (f"{head} the traditional emulator is {_times(acc)} more accurate than the best "
                f"network, {net} ({_pair(acc, net)}), and {cost_text}: "
                + ("it stands in, and the network is not needed." if cheap else
                   "it stands in on accuracy; on cost the network wins." if measured else
                   "on accuracy it stands in."))
    elif acc.winner == "same":
        text = (f"{head} the traditional emulator and the best network, {net}, are about as "
                f"accurate (within {SAME_RATIO:g}×; {_pair(acc, net)}); "
                f"{'the emulator is ' if measured else ''}{cost_text}"
                + (": it stands in." if cheap else ": on cost the network wins." if measured
                   else "."))
    else:
        text = (f"{head} the best network, {net}, is {_times(acc)} more accurate than the "
                f"traditional emulator ({_pair(acc, net)}): the network wins on accuracy; "
                f"{'the emulator is ' if measured else ''}{cost_text}.")
    text += _harmonics_clause(c) + _ear_clause(c) + _training_clause(c)
    if c.wins.get("graybox"):
        text += " The traditional emulator wins on: " + ", ".join(c.wins["graybox"]) + "."
    if c.wins.get("network"):
        text += f" {net} wins on: " + ", ".join(c.wins["network"]) + "."
    return text


def _ear_clause(c: Comparison) -> str:
    """What the perceptual score says of sounding the same: both against the ceiling (the target
    against itself), and against each other."""
    r = c.row("visqol")
    if r is None or r.winner is None:
        return ""
    who = {"graybox": "the emulator sounds closer to the effect",
           "network": f"{c.network} sounds closer to the effect",
           "same": "they sound about the same"}[r.winner]
    return (f" To the ear, as ViSQOL scores it (MOS-LQO: the emulator {fmt(r.graybox)}, "
            f"{c.network} {fmt(r.network)}; identical signals about 4.73, within {SAME_MOS:g} "
            f"counted the same), {who}.")


def _harmonics_clause(c: Comparison) -> str:
    thd = c.row("thd_percent")
    if thd is None or thd.graybox is None or thd.network is None or thd.target is None:
        return ""
    h = c.harmonics or {}
    where = ", ".join(f"{k} = {v:g}" for k, v in (h.get("setting") or {}).items())
    where = f" at {where} ({'trained on' if h.get('seen') else 'never trained on'})" if where else ""
    closer = {"graybox": "the emulator's is closer", "network": f"{c.network}'s is closer",
              "same": "both as close"}.get(thd.winner, "")
    return (f" THD of a 1 kHz sine at 0 dBFS{where}: the effect {fmt(thd.target)} %, the emulator "
            f"{fmt(thd.graybox)} %, {c.network} {fmt(thd.network)} % ({closer}).")


def _training_clause(c: Comparison) -> str:
    t = c.row("train_s")
    if t is None or t.graybox is None or t.network is None:
        return ""
    return f" Training took {fmt(t.graybox)} s for the emulator and {fmt(t.network)} s for {c.network}."


# ------------------------------------------------------------------ HTML


def _better(r: Row) -> str:
    if r.winner is None:
        return ""
    if r.winner == "same":
        return "about the same"
    who = "traditional emulator" if r.winner == "graybox" else "network"
    if r.factor is not None:
        return f"{who}, {'∞' if r.factor == math.inf else f'{r.factor:.3g}'}×"
    return f"{who}, by {r.margin_db:.2g}{' MOS' if r.kind == 'mos' else ' dB'}"


def comparison_html(c: Comparison) -> Html:
    """The report's section: the two-column table, the verdict, the thesis's claim beside it."""
    claim = f'<p class="fxlab-thesis"><i>{html.escape(THESIS_CLAIM)}</i></p>'
    if not c.rows:
        return Html(claim + f'<p class="fxlab-answer">{html.escape(c.verdict)}</p>')
    missing = "not measured"
    rows = [(r.group, r.label, missing if r.graybox is None else r.graybox,
             missing if r.network is None else r.network, _better(r)) for r in c.rows]
    caption = (f"This run's effect: {c.effect}. The traditional emulator ({c.graybox}: a "
               f"parametric EQ, with a static curve between two EQs for a nonlinear effect) against "
               f"the best network ({c.network_why}). Every number from this run's files; 'about "
               f"the same': within {SAME_RATIO:g}× (ratios) or {SAME_DB:g} dB.")
    if c.harmonics:
        caption += (f" Harmonics: {c.harmonics.get('definition', '')}.")
    table = html_table(("", "measure", f"the traditional emulator ({c.graybox})",
                        f"the best network ({c.network})", "better"), rows, caption=caption,
                       css_class="fxlab-table fxlab-results fxlab-question")
    return Html(f"{table}<p class=\"fxlab-answer\"><b>Verdict.</b> {html.escape(c.verdict)}</p>"
                + claim)


# ------------------------------------------------------------------ harmonics


def harmonics_summary(target, model, *, level_dbfs: float = 0.0,
                      floor_db: float = HARMONIC_FLOOR_DB) -> dict[str, float | None]:
    """A model's THD and worst harmonic error against the effect at one input level.

    Parameters
    ----------
    target, model : fxlab.harmonics.Harmonics
        Measured alike (:func:`fxlab.harmonics.measure_harmonics`).
    level_dbfs : float <= 0
        The input level read.
    floor_db : float < 0
        Each harmonic's level relative to the fundamental is raised to this floor first (dB):
        a harmonic both put below it is not counted, and one the effect lacks (a tanh makes no
        even harmonics) counts by how far the model's rises above the floor.

    Returns
    -------
    dict
        ``thd_percent`` (the model's), ``harmonic_error_db`` (the largest ``|model - effect|``
        over harmonics 2..H, dB, after the floor; None if none counts).
    """
    from fxlab.harmonics import harmonic_difference

    i = target.level_index(level_dbfs)
    diff = harmonic_difference(target, model, floor_db=floor_db)[i, 1:]
    counted = np.abs(diff[np.isfinite(diff)])
    return {"thd_percent": float(model.thd_percent[model.level_index(level_dbfs)]),
            "harmonic_error_db": float(counted.max()) if counted.size else None}


def measure_run_harmonics(run_dir: str | os.PathLike, names: Sequence[str], *,
                          f0_hz: float = 1000.0, level_dbfs: float = 0.0) -> dict[str, Any]:
    """A sine through the run's effect and through each named model: THD, worst harmonic error.

    A conditioned run is measured at its first held-out setting (never trained on), the effect
    and each model at the same setting; otherwise at the effect's own.

    Parameters
    ----------
    run_dir : path
        A run folder with ``data/`` and ``models/<name>/``.
    names : sequence of str
        Model folders to measure (loaded with :func:`fxlab.training.load_trained`).
    f0_hz : float [Hz]
    level_dbfs : float <= 0 [dBFS]
        Peak of the sine.

    Returns
    -------
    dict
        ``definition``, ``f0_hz``, ``level_dbfs``, ``setting`` (``{knob: value}`` or None),
        ``seen`` (False), ``effect``: ``{"thd_percent"}``, ``models``: ``{name:
        harmonics_summary(...)}``.
    """
    from fxlab.datasets import load_dataset
    from fxlab.harmonics import measure_harmonics
    from fxlab.training import load_trained

    if not math.isfinite(float(level_dbfs)) or level_dbfs > 0:
        raise ParameterError(problem("level_dbfs", found=repr(level_dbfs),
                                     expected="a level <= 0 dBFS", fix="use 0.0"))
    run = Path(run_dir)
    data = load_dataset(run / "data")
    cond = data.conditioning
    setting = dict(cond["val_settings"][0]) if cond and cond.get("val_settings") else None
    fx = data.effect.with_knobs(**setting) if setting else data.effect
    kw = {"sr": data.sr, "f0_hz": f0_hz, "levels_dbfs": (float(level_dbfs),)}
    target = measure_harmonics(lambda x: fx(x, data.sr), **kw)
    out: dict[str, Any] = {
        "definition": (f"a {f0_hz:g} Hz sine at {level_dbfs:g} dBFS through the effect and each "
                       "model" + (" at " + ", ".join(f"{k} = {v:g}" for k, v in setting.items())
                                  + ", a setting never trained on" if setting else "")
                       + f"; worst harmonic error over harmonics 2-10, each raised to "
                       f"{HARMONIC_FLOOR_DB:g} dB relative to the fundamental first"),
        "f0_hz": target.f0_hz, "level_dbfs": float(level_dbfs), "setting": setting, "seen": False,
        "effect": {"thd_percent": float(target.thd_percent[0])}, "models": {}}
    peaks = []
    for name in names:
        m = load_trained(run / "models" / name)
        peaks.append(m.input_range.get("peak_dbfs"))
        with warnings.catch_warnings():  # a sine above the training peak is said below, once
            warnings.simplefilter("ignore", LevelWarning)
            got = measure_harmonics(lambda x, m=m: m.predict(x, knobs=setting) if m.knobs
                                    else m.predict(x), **kw)
        out["models"][name] = harmonics_summary(target, got, level_dbfs=level_dbfs)
    known = [p for p in peaks if isinstance(p, int | float)]
    if known and level_dbfs > max(known):
        out["definition"] += (f"; the sine peaks above the models' training material (at most "
                              f"{max(known):.3g} dBFS): extrapolation for both")
    out["definition"] += "; measured from the run's models while this report was built"
    return out
