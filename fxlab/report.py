"""Assemble ``report.html`` from a run folder: figures, tables and audio players, no code.

:func:`build_report` reads ``run.json`` (written by :mod:`fxlab.pipeline`) and every executed
notebook in ``notebooks/``, and writes one self-contained HTML file (images and audio embedded):

1. the run: profile, date, machine, library versions, each step with its status and wall time --
   a failed step shows the error and the cell it failed in;
2. the results table (:func:`fxlab.evaluate.results_table_html`) when the evaluation has run;
3. one section per step: its markdown cells and its outputs (figures, HTML tables, audio players,
   printed text), never its code. The step's parameters are listed in a fold-out.

Outputs of cells tagged ``hide-output`` and stderr streams (warnings, progress bars) are left out,
except in a failed step, where everything is kept to show what went wrong.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat

__all__ = ["build_report", "render_notebook"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ANCHOR = re.compile(r"<a class=.anchor-link.[^>]*>.*?</a>")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d1d1f;line-height:1.45}
h1{border-bottom:2px solid #333}h2{border-bottom:1px solid #bbb;margin-top:2.2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}
.ok{color:#176317;font-weight:600}.failed,.interrupted{color:#b00020;font-weight:600}
.skipped{color:#777;font-weight:600}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em;white-space:pre-wrap}
pre.error{background:#fff0f0;border-left:4px solid #b00020}
img{max-width:100%}.output{margin:.4em 0;overflow-x:auto}.results{overflow-x:auto;font-size:.85em}.step-failed{border-left:4px solid #b00020;padding-left:1em}
details{margin:.5em 0}summary{cursor:pointer;color:#444}
.banner{background:#fff0f0;border:1px solid #b00020;padding:.8em;margin:1em 0}
"""


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


def _versions_table(versions: dict) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in versions.items())
    return f"<table>{rows}</table>"


def _steps_table(steps: list[dict]) -> str:
    rows = []
    for s in steps:
        err = html.escape(s.get("error") or "")
        if s.get("cell"):
            err = f"cell [{s['cell']}]: {err}"
        link = f"<a href='#{s['name']}'>{s['name']}</a>" if s["status"] != "skipped" else s["name"]
        rows.append(f"<tr><td>{link}</td><td class='{s['status']}'>{s['status']}</td>"
                    f"<td>{s.get('seconds', 0):.1f} s</td><td>{err}</td></tr>")
    return ("<table><tr><th>step</th><th>status</th><th>wall time</th><th>error</th></tr>"
            + "".join(rows) + "</table>")


def _results_html(run_dir: Path) -> str:
    if not (run_dir / "metrics.json").exists():
        return ""
    try:
        from fxlab.evaluate import results_table_html
    except ImportError:
        return ""
    try:
        return f"<h2 id='results'>Results</h2><div class='results'>{results_table_html(run_dir)}</div>"
    except Exception as e:  # the report must still show everything else
        return f"<h2 id='results'>Results</h2><pre class='error'>results table failed: {html.escape(repr(e))}</pre>"


def build_report(run_dir: str | Path) -> Path:
    """Write ``run_dir/report.html`` from ``run.json`` and the executed notebooks; returns its path."""
    run_dir = Path(run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    steps = info.get("steps", [])
    failed = [s for s in steps if s["status"] in ("failed", "interrupted")]
    total = sum(s.get("seconds", 0) for s in steps)
    head = [f"<h1>fxlab report — {html.escape(info['run_id'])}</h1>",
            f"<p>Profile <b>{html.escape(info['profile'])}</b>: {html.escape(info.get('description', ''))}</p>",
            f"<p>Started {info.get('started')}, finished {info.get('finished')}; steps took {total:.0f} s "
            f"in all. Every number below was computed by this run; the thesis's own figures are labelled "
            f"as the thesis's.</p>"]
    if failed:
        f = failed[0]
        where = f" in cell [{f['cell']}]" if f.get("cell") else ""
        head.append(f"<div class='banner'><b>Step {html.escape(f['name'])} {f['status']}{where}:</b> "
                    f"{html.escape(f.get('error', ''))}<br/>Its partial notebook is "
                    f"<code>{html.escape(f.get('notebook', ''))}</code>; the steps after it did not run.</div>")
    head.append("<h2 id='steps'>Steps</h2>" + _steps_table(steps))
    head.append(_results_html(run_dir))

    sections = []
    for s in steps:
        nb_path = run_dir / s.get("notebook", "")
        if s["status"] == "skipped" or not nb_path.is_file():
            continue
        nb = nbformat.read(nb_path, as_version=4)
        bad = s["status"] != "ok"
        params = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(repr(v))}</td></tr>"
                         for k, v in sorted(s.get("parameters", {}).items()))
        body = render_notebook(nb, keep_stderr=bad)
        sections.append(
            f"<section id='{s['name']}' class='{'step-failed' if bad else ''}'>"
            f"<h2>{html.escape(s['name'])} <small class='{s['status']}'>({s['status']})</small></h2>"
            f"<details><summary>parameters of this step</summary><table>{params}</table></details>"
            f"{body}</section>")
    foot = ("<h2 id='machine'>Machine and versions</h2>" + _versions_table(info.get("versions", {})))
    doc = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>fxlab report "
           f"{html.escape(info['run_id'])}</title><style>{_CSS}</style></head><body>"
           + "\n".join(head) + "\n".join(sections) + foot + "</body></html>")
    out = run_dir / "report.html"
    out.write_text(doc, encoding="utf-8")
    return out
