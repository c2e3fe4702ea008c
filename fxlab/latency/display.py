"""What the report shows of a latency measurement: the tables and the answer (the RTF figure is
:func:`fxlab.plots.latency.rtf_figure`)."""

from __future__ import annotations

from fxlab.latency.config import THESIS_MS_PER_SAMPLE, THESIS_RTF
from fxlab.latency.measure import KNOBS_MOVED as _MOVED
from fxlab.util import fmt, html_table

__all__ = ["answer_markdown", "knobs_table_html", "sweep_note", "live_table_html", "measurements_html",
           "thesis_table_html"]


def live_table_html(result: dict) -> str:
    """HTML table: per model, its smallest live block and whether it runs live for voice/guitar."""
    conditioned = any(e.get("knobs") for e in result["models"].values())
    head = ("model", "kind", "parameters", "default engine", "RTF at 64 (1.45 ms)", "p99 at 64 [ms]",
            *(("RTF at 64, knob moved every block",) if conditioned else ()),
            "smallest live block", "voice (3 ms)", "guitar (13 ms)")
    rows = []
    for name, e in result["models"].items():
        s = e["summary"]
        live = (f"{s['smallest_live_block']} samples = {s['smallest_live_ms']:.2f} ms ({s['live_engine']})"
                if s["smallest_live_block"] else "none measured")
        knobs = ", ".join(e.get("knobs") or ())
        moved = (fmt(s.get("rtf_moved_64")),) if conditioned else ()
        rows.append((f"{name} (knobs: {knobs})" if knobs else name, e["kind"],
                     int(e["param_count"]), s["engine"], fmt(s["rtf"]), fmt(s["p99_ms_64"]),
                     *moved, live, bool(s["live_voice"]), bool(s["live_guitar"])))
    return html_table(head, rows, caption="Can it run live? Smallest measured block whose "
                      "99th-percentile processing time stays under the block's duration, one CPU "
                      "core" + ("; a knob-conditioned network with its knobs at rest, and at 64 "
                                "samples with every knob moved before every block" if conditioned
                                else "") + ".")


def knobs_table_html(result: dict) -> str:
    """HTML: per knob-conditioned model and block size, knobs at rest against moved every block.

    The time a knob move costs a block (``set_knobs`` and the glide the network is then fed):
    the difference of the two medians, per block and per sample. A paragraph saying so when no
    model of the run is conditioned on knobs.
    """
    names = [n for n, e in result["models"].items() if e.get("knobs")]
    if not names:
        return ("<p>No model of this run is conditioned on knobs: nothing moves between blocks "
                "(a conditioned run: <code>fxlab run --profile pedal</code>).</p>")
    rows = []
    for name in names:
        ms = [r for r in result["measurements"] if r["model"] == name and not r.get("skipped")]
        for r in (r for r in ms if r.get("knobs") == _MOVED):
            fixed = next((f for f in ms if f["engine"] == r["engine"]
                          and f["block_size"] == r["block_size"] and f.get("knobs") != _MOVED), None)
            extra = (r["median_ms"] - fixed["median_ms"]) * 1e3 if fixed else None
            rows.append((name, ", ".join(result["models"][name]["knobs"]), r["engine"],
                         str(r["block_size"]), fmt(fixed["median_ms"] * 1e3 / r["block_size"] if fixed
                                                   else None),
                         fmt(r["median_ms"] * 1e3 / r["block_size"]), fmt(fixed["rtf"] if fixed else None),
                         fmt(r["rtf"]), fmt(extra), fmt(r["p99_ms"] * 1e3)))
    return html_table(("model", "knobs", "engine", "block", "µs/sample, knobs at rest",
                       "µs/sample, moved every block", "RTF at rest", "RTF moved", "extra µs per block",
                       "p99 moved [µs]"), rows,
                      caption="A knob moved before every block (set_knobs, then the 10 ms glide "
                      "the network is fed) against the knobs at rest; one CPU core, medians.")


def thesis_table_html(result: dict) -> str:
    """HTML table: the thesis's 0.8 ms per output sample (35x slower than real time) beside ours."""
    rows = [("thesis LSTM-384, 1024-sample window (section 4.1.1; its GPU)", "1 (per sample)",
             fmt(THESIS_MS_PER_SAMPLE, 6), f"{THESIS_RTF:.1f}", "no")]
    for name, e in result["models"].items():
        s = e["summary"]
        if s["ms_per_sample"] is None:
            continue
        b = s["ms_per_sample_block"]
        rtf = s["ms_per_sample"] * 1e-3 * result["sr"]
        rows.append((f"{name} ({e['kind']}, {s['engine']})", str(b), fmt(s["ms_per_sample"], 4),
                     fmt(rtf), bool(s["smallest_live_block"])))
    return html_table(("network", "block [samples]", "ms per output sample", "RTF",
                       "live at any measured block?"), rows,
                      caption="Time per output sample: the thesis's figure beside ours (one CPU "
                      "core, median, at the smallest block measured).")


def measurements_html(result: dict) -> str:
    """Every measurement as an HTML table (skipped ones with their reason)."""
    head = ("model", "engine", "knobs", "block", "latency [ms]", "blocks", "median [ms]", "p99 [ms]",
            "RTF", "RTF p99", "note")
    rows = []
    for r in result["measurements"]:
        knobs = r.get("knobs") or ""
        if r.get("skipped"):
            rows.append((r["model"], r["engine"], knobs, str(r["block_size"]), fmt(r["latency_ms"]),
                         None, None, None, None, None, r["skipped"]))
        else:
            rows.append((r["model"], r["engine"], knobs, str(r["block_size"]), fmt(r["latency_ms"]),
                         str(r["n_blocks"]), fmt(r["median_ms"], 4), fmt(r["p99_ms"], 4),
                         fmt(r["rtf"]), fmt(r["rtf_p99"]), r["note"]))
    return html_table(head, rows, caption="All measurements (time per block, one CPU core)")


def answer_markdown(result: dict) -> str:
    """The thesis's question answered in words, per model (Markdown)."""
    lines = [
        "**Can it process a live stream without a significant delay?** The thesis (sections 4.1.1 "
        f"and 5): {THESIS_MS_PER_SAMPLE} ms per output sample, {THESIS_RTF:.0f}x slower than real "
        "time, against 3 ms (voice) and 13 ms (guitar) of acceptable latency: no. Ours, on one CPU "
        "core of this machine:", ""]
    for name, e in result["models"].items():
        s = e["summary"]
        if s["smallest_live_block"]:
            verdict = (f"runs live from **{s['smallest_live_block']}-sample blocks "
                       f"({s['smallest_live_ms']:.2f} ms)** with `{s['live_engine']}`: "
                       f"voice {'yes' if s['live_voice'] else 'no'}, guitar "
                       f"{'yes' if s['live_guitar'] else 'no'}")
        else:
            verdict = "**does not run live** at any measured block size"
        rtf = f"; RTF at 64 samples {s['rtf']:.3g}" if s["rtf"] is not None else ""
        if s.get("rtf_moved_64") is not None:
            rtf += f" ({s['rtf_moved_64']:.3g} with a knob moved every block)"
        lines.append(f"- `{name}` ({e['kind']}, {e['param_count']:,} parameters) {verdict}{rtf}.")
    c = result["conditions"]
    lines += ["", f"Conditions: core(s) {c.get('cpu_affinity')}, TensorFlow threads pinned: "
              f"{c.get('tf_threads_pinned')}, load average {c.get('load_average')} (other work on "
              "the machine inflates the times, the 99th percentile most)."]
    return "\n".join(lines)


def sweep_note(demo: dict) -> str:
    """A sentence on the knob moved during a :func:`fxlab.runtime.stream_file` demo, or ``""``."""
    sweep = demo.get("knob_sweep")
    if not sweep:
        return ""
    moves = " and ".join(f"`{name}` from {a:g} to {b:g}" for name, (a, b) in sweep.items())
    return (f" The knob moved while it played: {moves}, a little at every block (each move "
            "glides over 10 ms, so the sound changes without a click).")
