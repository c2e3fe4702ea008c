"""Parameter sweeps: many pipeline runs from one spec, on Dask, and a report comparing them.

``fxlab sweep SPEC.yaml [--workers N] [--scheduler ADDRESS] [--sweep-id ID]`` reads a spec (a base
profile, its steps, and a grid or list over notebook parameters, ``seed`` included), runs each
point as one ``fxlab run`` into ``reports/<sweep-id>/<point>/`` on Dask distributed workers, then
runs ``notebooks/06_compare.ipynb`` over the points into ``reports/<sweep-id>/sweep.html``
(with ``sweep.csv`` and ``figures/`` beside it).

| module | job |
|---|---|
| :mod:`~fxlab.sweep.spec` | ``load_spec(path) -> SweepSpec`` (checked; each point resolved against the notebooks), ``point_name`` |
| :mod:`~fxlab.sweep.execute` | ``run_sweep(spec, ...) -> SweepResult``, ``run_point`` (a worker's task), ``start_client``, ``read_point``, ``THREAD_ENV``, ``SweepInterrupted`` (Ctrl-C) |
| :mod:`~fxlab.sweep.compare` | ``CompareConfig`` (notebook 06), ``compare_points``, ``collect``, ``write_csv``, ``points_table_html``, ``spread``, ``series_against`` (drawn by :func:`fxlab.plots.sweep.plot_against`) |
| :mod:`~fxlab.sweep.report` | ``run_compare`` (papermill, notebook 06), ``build_sweep_report`` (``sweep.html``) |

Sweep folder ``reports/<sweep-id>/``: ``sweep.json`` (spec, each point's final state),
``<point>/`` (a run folder, plus ``point.json``: its live state, and ``logs/sweep.log``),
``.stop-<client>`` (only while a stopped sweep's points are stopping),
``notebooks/06_compare.ipynb``, ``sweep.csv``, ``figures/<param>.png``, ``sweep.html``.
"""

from __future__ import annotations

from fxlab.sweep.compare import (
    METRICS,
    CompareConfig,
    Comparison,
    collect,
    compare_points,
    points_table_html,
    series_against,
    spread,
    write_csv,
)
from fxlab.sweep.execute import (
    THREAD_ENV,
    SweepInterrupted,
    SweepResult,
    read_point,
    run_point,
    run_sweep,
    start_client,
)
from fxlab.sweep.report import build_sweep_report, run_compare
from fxlab.sweep.spec import Point, SweepSpec, load_spec, point_name

__all__ = [
    "METRICS",
    "THREAD_ENV",
    "CompareConfig",
    "Comparison",
    "Point",
    "SweepInterrupted",
    "SweepResult",
    "SweepSpec",
    "build_sweep_report",
    "collect",
    "compare_points",
    "load_spec",
    "point_name",
    "points_table_html",
    "read_point",
    "run_compare",
    "run_point",
    "run_sweep",
    "series_against",
    "spread",
    "start_client",
    "write_csv",
]
