"""Assemble ``report.html`` from a run folder: figures, tables and audio players, no code.

:func:`build_report` reads ``run.json`` (written by :mod:`fxlab.pipeline`) and every executed
notebook in ``notebooks/``, and writes one self-contained HTML file (images and audio embedded):

1. the run: profile, date, machine, library versions, each step with its status and wall time --
   a failed step shows the error and the cell it failed in;
2. the results table (:func:`fxlab.evaluate.results_table_html`) when the evaluation has run;
3. the thesis's question -- can a network stand in for a traditional emulator? -- in two columns,
   the traditional emulator (``graybox``) against the best network, with a verdict computed from
   the run's numbers (:mod:`fxlab.evaluate.graybox`); for a nonlinear effect the harmonics of a
   1 kHz sine are measured here, through the run's effect and the two models (a few seconds);
4. one section per step: its markdown cells and its outputs (figures, HTML tables, audio players,
   printed text), never its code. The step's parameters are listed in a fold-out.

Outputs of cells tagged ``hide-output`` and stderr streams (warnings, progress bars) are left out,
except in a failed step, where everything is kept to show what went wrong.

The Python side builds a context (:func:`report_context`); the Jinja2 templates in
``fxlab/report/templates/`` lay it out (``report.html.j2`` and its partials ``_banner``,
``_results``, ``_question``, ``_section``; the style sheet ``report.css``). Autoescaping is on: plain strings are
escaped, and HTML made here (notebook outputs, tables from :func:`fxlab.util.html_table`) is passed
as :class:`markupsafe.Markup`.

- :func:`build_report`      write ``run_dir/report.html``; returns its path
- :func:`report_context`    the template's context for a run folder
- :func:`render_notebook`   HTML of a notebook's markdown cells and outputs, without code
"""

from __future__ import annotations

import functools
import html
import json
import re
from pathlib import Path

import jinja2
import nbformat
from markupsafe import Markup

from fxlab.steps import STEPS
from fxlab.util import Html, atomic_write, html_table

__all__ = ["build_report", "render_notebook", "report_context"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ANCHOR = re.compile(r"<a class=.anchor-link.[^>]*>.*?</a>")


def _md(text: str) -> str:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return _ANCHOR.sub("", markdown2html_mistune(text))


def _output_html(out, *, keep_stderr: bool) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        if out.get("name") == "stderr" and not keep_stderr:
            return ""
        text = _ANSI.sub("", "".join(out.get("text", "")))
        # progress bars redraw with carriage returns: keep each line's last state
        text = "\n".join(line.split("\r")[-1] for line in text.split("\n"))
        return f"<pre>{html.escape(text.rstrip())}</pre>" if text.strip() else ""
    if kind == "error":
        tb = _ANSI.sub("", "\n".join(out.get("traceback", [])))
        return f"<pre class='error'>{html.escape(tb)}</pre>"
    data = out.get("data", {})
    if "text/html" in data:
        return "".join(data["text/html"]) if isinstance(data["text/html"], list) else data["text/html"]
    if "image/png" in data:
        return f"<img src='data:image/png;base64,{data['image/png'].strip()}'/>"
    if "image/svg+xml" in data:
        svg = data["image/svg+xml"]
        return "".join(svg) if isinstance(svg, list) else svg
    if "text/markdown" in data:
        return _md("".join(data["text/markdown"]))
    if "application/vnd.jupyter.widget-view+json" in data:
        return ""  # interactive widgets live in JupyterLab, not in a static report
    if "text/plain" in data:
        text = "".join(data["text/plain"])
        return f"<pre>{html.escape(text)}</pre>"
    return ""


def render_notebook(nb: nbformat.NotebookNode, *, keep_stderr: bool = False) -> str:
    """HTML of a notebook's markdown cells and outputs, without code cells' source."""
    parts = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "markdown":
            parts.append(_md(cell.source))
        elif cell.cell_type == "code":
            if "hide-output" in tags and not keep_stderr:
                continue
            for out in cell.get("outputs", []):
                h = _output_html(out, keep_stderr=keep_stderr)
                if h:
                    parts.append(f"<div class='output'>{h}</div>")
    return "\n".join(parts)


def _versions_table(versions: dict) -> Html:
    return html_table(("library or machine", "version"), [(k, str(v)) for k, v in versions.items()])


def _steps_table(steps: list[dict]) -> Html:
    rows = []
    for s in steps:
        err = s.get("error") or ""
        if s.get("cell"):
            err = f"cell [{s['cell']}]: {err}"
        name = html.escape(s["name"])
        link = Html(f"<a href='#{name}'>{name}</a>") if s["status"] != "skipped" else s["name"]
        status = Html(f"<span class='{html.escape(s['status'])}'>{html.escape(s['status'])}</span>")
        if s.get("earlier"):
            err = f"(run earlier, started {s['earlier']}) {err}".strip()
        rows.append((link, status, f"{s.get('seconds', 0):.1f} s", err))
    return html_table(("step", "status", "wall time", "error"), rows)


def _params_table(params: dict) -> Html:
    return html_table(("parameter", "value"), [(k, repr(v)) for k, v in sorted(params.items())])


def _results(run_dir: Path) -> dict | None:
    """``{"html": Markup, "error": None}`` for the results table, ``{"html": None, "error": str}``
    if it failed, or None when the evaluation has not run."""
    return _evaluated_section(run_dir, "fxlab.evaluate", lambda ev: ev.results_table_html(run_dir))


def _evaluated_section(run_dir: Path, module: str, build) -> dict | None:
    """None when the evaluation has not run (no ``metrics.json``) or ``module`` cannot be
    imported; else ``{"html": Markup(build(module)), "error": None}``, or ``{"html": None,
    "error": repr(e)}`` when ``build`` failed: the report must still show everything else."""
    import importlib

    if not (run_dir / "metrics.json").exists():
        return None
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    try:
        return {"html": Markup(build(mod)), "error": None}
    except Exception as e:  # the report must still show everything else
        return {"html": None, "error": repr(e)}


def _question(run_dir: Path) -> dict | None:
    """``{"html": Markup, "error": None}`` for the thesis's question in two columns
    (:func:`fxlab.evaluate.graybox.compare_run`), ``{"html": None, "error": str}`` if it failed,
    or None when the evaluation has not run. A nonlinear effect's harmonics are measured here
    (:func:`fxlab.evaluate.graybox.measure_run_harmonics`) unless ``metrics.json`` holds them;
    if that fails the table says "not measured" and the error is shown beside it."""
    def build(gb) -> str:
        comp = gb.compare_run(run_dir)
        note = ""
        if comp.linear is False and comp.rows and comp.harmonics is None:
            try:
                harmonics = gb.measure_run_harmonics(run_dir, [comp.graybox, comp.network])
                comp = gb.compare_run(run_dir, harmonics=harmonics)
            except Exception as e:  # the comparison stands without them
                note = f"<pre class='error'>harmonics not measured: {html.escape(repr(e))}</pre>"
        return gb.comparison_html(comp) + note

    return _evaluated_section(run_dir, "fxlab.evaluate.graybox", build)


def report_context(run_dir: str | Path) -> dict:
    """What ``report.html.j2`` lays out, read from ``run.json`` and the executed notebooks.

    Keys: ``run_id``, ``profile``, ``description``, ``started``, ``finished``, ``total_s`` (the
    steps' wall time, s), ``failed`` (the first failed or interrupted step, or None),
    ``steps_table``, ``results`` (see :func:`_results`), ``question`` (see :func:`_question`),
    ``sections`` (one per step that ran:
    ``name``, ``status``, ``failed``, ``params_table``, ``body``) and ``versions_table``. HTML
    values are :class:`markupsafe.Markup`; everything else is escaped by the template.
    """
    run_dir = Path(run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    failed = [s for s in info.get("steps", []) if s["status"] in ("failed", "interrupted")]
    # steps an earlier invocation ran in this folder (``--steps 03`` on a finished run) stay in
    # the report, in the study's order, marked as such in the steps table
    steps = sorted([*info.get("earlier_steps", []), *info.get("steps", [])],
                   key=lambda s: STEPS.index(s["name"]) if s["name"] in STEPS else len(STEPS))
    sections = []
    for s in steps:
        nb_path = run_dir / s.get("notebook", "")
        if s["status"] == "skipped" or not nb_path.is_file():
            continue
        nb = nbformat.read(nb_path, as_version=4)
        bad = s["status"] != "ok"
        sections.append({"name": s["name"], "status": s["status"], "failed": bad,
                         "params_table": Markup(_params_table(s.get("parameters", {}))),
                         "body": Markup(render_notebook(nb, keep_stderr=bad))})
    return {
        "run_id": info["run_id"], "profile": info["profile"],
        "description": info.get("description", "") + (
            f" Keras backend: {info['keras_backend']} ({info.get('keras_backend_why', '')})."
            if info.get("keras_backend") else ""),
        "started": info.get("started"), "finished": info.get("finished"),
        "total_s": sum(s.get("seconds", 0) for s in steps),
        "failed": {"name": failed[0]["name"], "status": failed[0]["status"],
                   "cell": failed[0].get("cell"), "error": failed[0].get("error") or "",
                   "notebook": failed[0].get("notebook") or ""} if failed else None,
        "steps_table": Markup(_steps_table(steps)),
        "results": _results(run_dir),
        "question": _question(run_dir),
        "sections": sections,
        "versions_table": Markup(_versions_table(info.get("versions", {}))),
    }


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("fxlab.report", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def build_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report.html`` from ``run.json`` and the executed notebooks; returns its path."""
    run_dir = Path(run_dir)
    doc = _environment().get_template("report.html.j2").render(report_context(run_dir))
    return atomic_write(run_dir / "report.html", doc)
