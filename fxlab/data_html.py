"""The HTML of the data step (step 01, notebook ``01_synthesize_data``); its figures are
:mod:`fxlab.plots.data`.

- :func:`knob_settings_html`    the settings of each split of a conditioned data set, as a table
- :func:`players_html`          audio players side by side, levels untouched
"""

from __future__ import annotations

import numpy as np

from fxlab.util import Html, html_table

__all__ = ["knob_settings_html", "players_html"]


def knob_settings_html(dataset) -> str:
    """The knobs of a conditioned data set and the settings each split holds, as an HTML table."""
    cond = dataset.conditioning
    if not cond:
        return "<p>Not conditioned: one setting of the effect.</p>"
    knobs = ", ".join(f"{k['name']} [{k['low']:g}, {k['high']:g}] {k.get('unit', '')}".rstrip()
                      for k in cond["knobs"])
    rows = []
    for name in dataset.split_names:
        sp = dataset.manifest["splits"][name]
        role = "trained on" if name == "train" else "held out (never trained on)"
        settings = "; ".join(", ".join(f"{k}={v:g}" for k, v in st["setting"].items())
                             for st in sp.get("settings", []))
        rows.append((name, role, len(sp.get("settings", [])), settings))
    return (f"<p>Knobs the networks read: <b>{knobs}</b>.</p>"
            + html_table(["split", "role", "settings", "values"], rows))


def players_html(clips: dict, *, sr: int) -> str:
    """HTML with one labelled audio player per clip, side by side, levels untouched (no normalising).

    ``clips`` maps a label to a float array in [-1, 1] of shape (n,).
    """
    from IPython.display import Audio

    cells = []
    for x in clips.values():
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        audio = Audio(np.clip(x, -1, 1), rate=sr, normalize=False)._repr_html_()
        cells.append(Html(f"<small>peak {20 * np.log10(max(peak, 1e-9)):.1f} dBFS</small><br/>{audio}"))
    return html_table(list(clips), [cells], css_class="fxlab-table fxlab-players")
