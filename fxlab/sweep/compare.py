"""Compare a sweep's points: one table, one CSV, and each headline metric against each swept value.

Reads what the points wrote -- ``sweep.json`` (the spec and each point's state), and in each point's
run folder ``metrics.json`` (evaluation), ``latency.json`` (real-time factor) and
``models/<name>/summary.json`` (training) -- so the comparison can be rerun at any time, also
while a sweep is incomplete: a point without results appears with its status and error.

One row per point and model (a point whose evaluation did not run has one row, without a model).
Headline metrics (:data:`METRICS`): ESR and MSE on Validation 1 (synthetic) and Validation 2
(speech), the log-spectral distance and the ViSQOL score (higher is better) on both. The spread across seeds is the mean and the 95%
interval of Student's t over the points that differ only in ``seed``.

- :class:`CompareConfig`  notebook 06's parameters, frozen (``CompareConfig.from_parameters(globals())``)
- :func:`compare_points`  everything below for a sweep folder; returns a :class:`Comparison`
- :func:`collect`         the rows (a list of dicts), from the sweep folder
- :func:`write_csv`       every row and column to ``sweep.csv``
- :func:`points_table_html`  the table of every point
- :func:`spread`          mean and 95% interval of a list of values
- :func:`series_against`  each metric against one swept parameter, the numbers its figure draws
  (:func:`fxlab.plots.sweep.plot_against`)
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.util import Html, NotebookConfig, atomic_write, html_table

__all__ = ["METRICS", "CompareConfig", "Comparison", "collect", "compare_points",
           "points_table_html", "series_against", "spread", "write_csv"]

#: Headline metrics: column name -> (split, key in metrics.json's per-split numbers, label).
METRICS = {
    "esr_v1": ("val1", "esr", "ESR, Validation 1"),
    "esr_v2": ("val2", "esr", "ESR, Validation 2"),
    "mse_v1": ("val1", "mse", "MSE, Validation 1"),
    "mse_v2": ("val2", "mse", "MSE, Validation 2"),
    "lsd_v1_db": ("val1", "lsd_db", "log-spectral distance, Validation 1 (dB)"),
    "lsd_v2_db": ("val2", "lsd_db", "log-spectral distance, Validation 2 (dB)"),
    # the perceptual score (metrics.json's models[name]["visqol"]; higher is better, 4.73 the ceiling)
    "visqol_v1": ("val1", "visqol", "ViSQOL MOS-LQO, Validation 1 (higher is better)"),
    "visqol_v2": ("val2", "visqol", "ViSQOL MOS-LQO, Validation 2 (higher is better)"),
}


def _metric_value(m: dict, split: str, key: str):
    """One headline metric of a model's ``metrics.json`` entry (None where not measured)."""
    if key == "visqol":
        return (m.get("visqol") or {}).get(split)
    return m.get("splits", {}).get(split, {}).get(key)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _sweep_doc(sweep_dir: Path) -> dict:
    doc = _read_json(sweep_dir / "sweep.json")
    if doc is None:
        raise ParameterError(problem(sweep_dir, found="no readable sweep.json",
                                     expected="a sweep folder written by fxlab sweep",
                                     fix="give the folder reports/<sweep-id> of a sweep"))
    return doc


def collect(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """One row per point and model, in the spec's order of points.

    Each row: ``point``, ``status``, the swept values (one column each), ``model``, the
    :data:`METRICS`, ``param_count``, ``rtf`` (real-time factor at 64-sample blocks, from the
    latency step; None if it did not run), ``train_s`` (the model's training wall time, s),
    ``wall_s`` (the point's wall time, s), ``error``, ``report`` (path of the point's report,
    relative to the sweep folder, or "") and ``parameters`` (every override of the point).
    """
    sweep_dir = Path(sweep_dir)
    doc = _sweep_doc(sweep_dir)
    swept = doc["spec"]["swept"]
    rows = []
    for p in doc["spec"]["points"]:
        folder = sweep_dir / p["name"]
        state = _read_json(folder / "point.json") or {}
        base = {"point": p["name"], "status": state.get("status", "not run"),
                **{k: p["swept"].get(k) for k in swept}}
        tail = {"wall_s": state.get("wall_s"), "error": state.get("error") or "",
                "report": f"{p['name']}/report.html" if (folder / "report.html").exists() else "",
                "parameters": p["overrides"]}
        metrics = _read_json(folder / "metrics.json") or {}
        latency = (_read_json(folder / "latency.json") or {}).get("models", {})
        models = metrics.get("models", {})
        if not models:
            rows.append({**base, "model": None, **dict.fromkeys(METRICS), "param_count": None,
                         "rtf": None, "train_s": None, **tail})
            continue
        for model, m in models.items():
            values = {col: _metric_value(m, split, key) for col, (split, key, _) in METRICS.items()}
            summary = _read_json(folder / "models" / model / "summary.json") or {}
            rtf = latency.get(model, {}).get("summary", {}).get("rtf")
            rows.append({**base, "model": model, **values, "param_count": m.get("param_count"),
                         "rtf": rtf, "train_s": summary.get("wall_s"), **tail})
    return rows


def write_csv(rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Write every row to ``path`` as CSV, atomically; each override gets a ``param.<name>`` column."""
    names: list[str] = []
    flat = []
    for r in rows:
        f = {k: v for k, v in r.items() if k != "parameters"}
        f.update({f"param.{k}": (json.dumps(v) if isinstance(v, dict | list) else v)
                  for k, v in r["parameters"].items()})
        flat.append(f)
        names.extend(k for k in f if k not in names)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return atomic_write(path, buf.getvalue())


def points_table_html(rows: list[dict[str, Any]], swept: list[str]) -> Html:
    """The table of every point and model: swept values, metrics, parameters, RTF, wall times,
    status and a link to the point's report (relative to the sweep folder)."""
    cols = ["point", *swept, "model", *METRICS, "param_count", "rtf", "train_s", "wall_s", "status",
            "report", "other parameters", "error"]
    body = []
    for r in rows:
        status = Html(f"<span class='{r['status']}'>{r['status']}</span>")
        link = Html(f"<a href='{r['report']}'>report</a>") if r["report"] else None
        others = ", ".join(f"{k}={v!r}" for k, v in r["parameters"].items() if k not in swept)
        body.append([r["point"], *(r[k] for k in swept), r["model"], *(r[m] for m in METRICS),
                     r["param_count"], r["rtf"], r["train_s"], r["wall_s"], status, link, others,
                     r["error"]])
    return html_table(cols, body, caption="Every point of the sweep (one row per point and model)")


def spread(values: list[float]) -> dict[str, Any]:
    """Mean and 95% interval (Student's t) of ``values``, ignoring missing ones.

    Returns ``n``, ``mean`` (None when n == 0) and ``ci95`` (``[low, high]``, None when n < 2).
    """
    from fxlab.listening.aggregate import student_t_interval

    r = student_t_interval([v for v in values if v is not None and math.isfinite(v)])
    return {"n": r["n"], "mean": r["mean"], "ci95": r["ci95"]}


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def series_against(rows: list[dict[str, Any]], swept: list[str], param: str,
                   metrics: list[str]) -> dict[str, Any]:
    """Each metric against the swept ``param``: what :func:`fxlab.plots.sweep.plot_against` draws.

    One line per model and combination of the other swept values (``seed`` aside): each point is
    the :func:`spread` over the finished points that differ only in ``seed`` (its interval none
    for a single seed). Numeric values of ``param`` keep their value as position, others are
    placed side by side in the order met.

    Parameters
    ----------
    rows : list of dict
        From :func:`collect`.
    swept : list of str
        The swept names (``sweep.json``'s ``spec.swept``).
    param : str
        One of ``swept``.
    metrics : list of str
        Names from :data:`METRICS`.

    Returns
    -------
    dict
        ``param``; ``ticks``: ``[(position, label)]`` when the values are not numeric, else
        ``None``; ``panels``: one per metric, ``{"metric", "title", "log", "lines"}``, ``log`` true
        for an ESR or MSE whose every interval lies above 0, each line ``{"label", "x", "mean",
        "low", "high"}`` (lists; ``low``/``high`` equal ``mean`` without an interval).
    """
    others = [k for k in swept if k not in (param, "seed")]
    good = [r for r in rows if r["model"] is not None and r["status"] == "ok" and r[param] is not None]
    xs = list(dict.fromkeys(r[param] for r in good))
    numeric = all(_is_number(x) for x in xs)
    if numeric:
        xs = sorted(xs)
    position = {json.dumps(x): (x if numeric else i) for i, x in enumerate(xs)}
    # each finished row with its line (model, then the other swept values) and its x, as JSON
    keyed = [((r["model"], *(json.dumps(r[k]) for k in others)), json.dumps(r[param]), r) for r in good]
    lines = list(dict.fromkeys(line for line, _, _ in keyed))
    panels = []
    for metric in metrics:
        drawn = []
        for line in lines:
            label = ", ".join([line[0], *(f"{k}={json.loads(v)}"
                                          for k, v in zip(others, line[1:], strict=True) if v != "null")])
            pts = []
            for x in position:
                s = spread([r[metric] for at, rx, r in keyed if at == line and rx == x])
                if s["mean"] is not None:
                    pts.append((position[x], s))
            if pts:
                drawn.append({"label": label, "x": [p for p, _ in pts],
                              "mean": [s["mean"] for _, s in pts],
                              "low": [s["ci95"][0] if s["ci95"] else s["mean"] for _, s in pts],
                              "high": [s["ci95"][1] if s["ci95"] else s["mean"] for _, s in pts]})
        positive = all(v > 0 for d in drawn for v in d["low"])
        panels.append({"metric": metric, "title": METRICS[metric][2],
                       "log": positive and metric.split("_")[0] in ("esr", "mse"), "lines": drawn})
    return {"param": param, "ticks": None if numeric else [(i, str(x)) for i, x in enumerate(xs)],
            "panels": panels}


@dataclass(frozen=True)
class CompareConfig(NotebookConfig):
    """Notebook 06's parameters, frozen: field names equal the notebook's parameter names.

    Attributes
    ----------
    run_dir : str
        The sweep folder ``reports/<sweep-id>`` (holding ``sweep.json`` and one folder per point).
    seed : int
        Unused: the comparison draws no random numbers (every notebook declares a seed).
    metrics : str
        Comma-separated headline metrics to plot, from :data:`METRICS`.
    models : str
        Comma-separated models to compare; ``""`` compares every model the points trained.
    """

    run_dir: str
    seed: int
    metrics: str
    models: str

    def __post_init__(self):
        for m in self.metric_names:
            if m not in METRICS:
                raise unknown_name("metric", m, list(METRICS))
        if not self.metric_names:
            raise ParameterError(problem(f"metrics={self.metrics!r}", found="no metric",
                                         expected="comma-separated names from " + ", ".join(METRICS),
                                         fix='e.g. metrics="esr_v1,esr_v2,lsd_v2_db"'))

    @property
    def metric_names(self) -> list[str]:
        return [m.strip() for m in self.metrics.split(",") if m.strip()]

    @property
    def model_names(self) -> list[str]:
        return [m.strip() for m in self.models.split(",") if m.strip()]


@dataclass(frozen=True)
class Comparison:
    """What :func:`compare_points` made: the rows, the table, the CSV and the figures."""

    rows: list[dict[str, Any]]
    swept: list[str]
    table_html: Html
    csv_path: Path
    figures: list[tuple[Path, str]]
    summary: str


def compare_points(config: CompareConfig) -> Comparison:
    """Collect the points of ``config.run_dir``, write ``sweep.csv`` and ``figures/<param>.png``.

    One figure per swept parameter other than ``seed`` (``seed`` itself when it is the only one)
    that at least one finished point sets.
    """
    # matplotlib is imported here, when a figure is drawn, not by every worker importing fxlab.sweep
    from fxlab.plots.common import save_figure
    from fxlab.plots.sweep import plot_against

    sweep_dir = Path(config.run_dir)
    doc = _sweep_doc(sweep_dir)
    swept = doc["spec"]["swept"]
    rows = collect(sweep_dir)
    if config.model_names:
        known = sorted({r["model"] for r in rows if r["model"]})
        for m in config.model_names:
            if m not in known and known:
                raise unknown_name("model", m, known)
        rows = [r for r in rows if r["model"] is None or r["model"] in config.model_names]
    csv_path = write_csv(rows, sweep_dir / "sweep.csv")
    figures = []
    (sweep_dir / "figures").mkdir(exist_ok=True)
    for param in [k for k in swept if k != "seed"] or [k for k in swept if k == "seed"]:
        if not any(r["status"] == "ok" and r["model"] and r[param] is not None for r in rows):
            continue  # no finished point has a value to plot
        fig = plot_against(series_against(rows, swept, param, config.metric_names))
        path = save_figure(fig, sweep_dir / "figures" / f"{param}.png", dpi=110, tight=True)
        others = [k for k in swept if k not in (param, "seed")]
        caption = f"Headline metrics against {param}: one line per model"
        caption += f" and combination of {', '.join(others)}" if others else ""
        if "seed" in swept and param != "seed":
            caption += "; each marker the mean over seeds, its bar the 95% interval (Student's t)"
        figures.append((path, caption + "."))
    points = {r["point"]: r["status"] for r in rows}
    n_ok = sum(s == "ok" for s in points.values())
    summary = (f"**{len(points)}** points, **{n_ok}** finished, **{len(points) - n_ok}** not "
               f"(failed or not run); swept: " + ", ".join(f"`{k}`" for k in swept) + ".")
    return Comparison(rows, swept, points_table_html(rows, swept), csv_path, figures, summary)
