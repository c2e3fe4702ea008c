"""The sweep's comparison report: notebook 06 run with papermill, then ``sweep.html``.

``notebooks/06_compare.ipynb`` reads the points' results (:mod:`fxlab.sweep.compare`) and is
executed into ``reports/<sweep-id>/notebooks/06_compare.ipynb`` with ``run_dir`` set to the sweep
folder, so the comparison is itself rerunnable (``fxlab sweep`` reruns it every time; by hand:
open the notebook and set ``run_dir``). :func:`build_sweep_report` lays the executed notebook's
outputs out as ``sweep.html`` with the template ``fxlab/report/templates/sweep.html.j2``.

- :func:`run_compare`         execute notebook 06 over a sweep folder; returns "" or the error
- :func:`build_sweep_report`  write ``sweep.html``; returns its path
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import nbformat
import yaml
from markupsafe import Markup

from fxlab.util import Html, atomic_write, html_table

__all__ = ["COMPARE_NOTEBOOK", "build_sweep_report", "run_compare"]

#: The comparison notebook's name in ``notebooks/``.
COMPARE_NOTEBOOK = "06_compare"


def run_compare(sweep_dir: str | Path, *, log=None) -> str:
    """Execute notebook 06 with ``run_dir=sweep_dir``; returns "" or the error that stopped it.

    The executed notebook (partial if it failed) is ``sweep_dir/notebooks/06_compare.ipynb``; the
    kernel's stderr goes to ``sweep_dir/logs/06_compare.stderr.log``.
    """
    import papermill as pm

    from fxlab.pipeline import _stderr_to, notebooks_dir

    logging.getLogger("papermill").setLevel(logging.ERROR)
    sweep_dir = Path(sweep_dir).resolve()
    out = sweep_dir / "notebooks" / f"{COMPARE_NOTEBOOK}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    if log:
        log(f"  comparing the points ({COMPARE_NOTEBOOK}) ...")
    (sweep_dir / "logs").mkdir(exist_ok=True)
    try:
        with _stderr_to(sweep_dir / "logs" / f"{COMPARE_NOTEBOOK}.stderr.log"):
            pm.execute_notebook(str(notebooks_dir() / f"{COMPARE_NOTEBOOK}.ipynb"), str(out),
                                parameters={"run_dir": str(sweep_dir)}, kernel_name="python3",
                                cwd=str(notebooks_dir()), progress_bar=False,
                                request_save_on_cell_execute=True)
    except pm.PapermillExecutionError as e:
        return f"cell [{e.exec_count}]: {e.ename}: {e.evalue}"
    except Exception as e:  # kernel died, notebook unreadable
        return f"{type(e).__name__}: {e}"
    return ""


def _points_table(doc: dict) -> Html:
    rows = []
    for p in doc["spec"]["points"]:
        state = doc.get("points", {}).get(p["name"]) or {}
        status = state.get("status", "not run")
        skipped = " (finished earlier)" if p["name"] in doc.get("skipped", []) else ""
        rows.append((p["name"], Html(f"<span class='{status}'>{status}</span>{skipped}"),
                     state.get("wall_s"), state.get("host", ""), state.get("error", "")))
    return html_table(("point", "status", "wall time (s)", "host", "error"), rows)


def build_sweep_report(sweep_dir: str | Path, *, compare_error: str = "") -> Path:
    """Write ``sweep_dir/sweep.html`` from ``sweep.json`` and the executed notebook 06.

    ``compare_error`` (from :func:`run_compare`) is shown at the top, with the partial notebook's
    error output kept.
    """
    from fxlab.pipeline import versions
    from fxlab.report import _environment, render_notebook

    sweep_dir = Path(sweep_dir)
    doc = json.loads((sweep_dir / "sweep.json").read_text())
    nb_path = sweep_dir / "notebooks" / f"{COMPARE_NOTEBOOK}.ipynb"
    body = ""
    if nb_path.exists():
        body = render_notebook(nbformat.read(nb_path, as_version=4), keep_stderr=bool(compare_error))
    failed = [(n, s.get("error", "")) for n, s in doc.get("points", {}).items()
              if s and s.get("status") != "ok"]
    spec = doc["spec"]
    context = {
        "sweep_id": doc["sweep_id"], "description": spec.get("description", ""),
        "profile": spec["profile"], "steps": spec["steps"], "swept": spec["swept"],
        "started": doc.get("started"), "finished": doc.get("finished"),
        "n_points": len(spec["points"]), "failed": failed, "compare_error": compare_error,
        "points_table": Markup(_points_table(doc)), "body": Markup(body),
        "spec_yaml": yaml.safe_dump({k: spec[k] for k in ("profile", "steps", "parameters", "swept")},
                                    sort_keys=False),
        "versions_table": Markup(html_table(("library or machine", "version"),
                                            [(k, str(v)) for k, v in versions().items()])),
    }
    doc_html = _environment().get_template("sweep.html.j2").render(context)
    return atomic_write(sweep_dir / "sweep.html", doc_html)
