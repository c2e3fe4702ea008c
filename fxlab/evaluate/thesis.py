"""The thesis's figures and its measure: what every run's numbers are set beside.

- :data:`THESIS_VALIDATION_MSE`  the thesis's reported validation MSE per network (sections 4.1-4.3)
- :data:`THESIS_SHORT`           a short name for each of those networks
- :data:`THESIS_MODELS`          fxlab's model for each of them
- :data:`SPLIT_LABELS`           the validation splits' short labels (``V1``, ``V2``)
- :data:`SPLIT_NAMES`            the validation splits' names, the thesis's Validation 1 and 2
- :data:`COMBINED_ORDER`         the thesis's validation audio: V2 (the voice), then V1
- :func:`combined_measure`       the thesis's measure: MSE over V2 then V1, every model on the same
  stretch

The bottom of :mod:`fxlab.evaluate`: the evaluation (``run``), its tables (``tables``), the reference
run's export (``reference``) and the config (``config``, which re-exports the figures) all use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fxlab import metrics
from fxlab.audio import loudest_start

__all__ = ["COMBINED_ORDER", "SPLIT_LABELS", "SPLIT_NAMES", "THESIS_MODELS", "THESIS_SHORT",
           "THESIS_VALIDATION_MSE", "combined_measure"]

THESIS_VALIDATION_MSE: dict[str, float] = {
    "LSTM, 384 units, 1024 window (4.1.1)": 7.9e-5,
    "reduced LSTM, 160 units, 512 window (4.1.3)": 3.03e-3,
    "GRU (4.2)": 7.823e-3,
    "dilated CNN (4.3)": 1.905e-2,
}
"""The thesis's final validation MSE per network, as it reports them (sections 4.1.1-4.3), on its
validation audio: the voice clip followed by the synthetic one (its Fig. 15); fxlab's
like-for-like measure is :func:`combined_measure`."""

THESIS_SHORT = {"LSTM, 384 units, 1024 window (4.1.1)": "LSTM",
                 "reduced LSTM, 160 units, 512 window (4.1.3)": "reduced LSTM",
                 "GRU (4.2)": "GRU", "dilated CNN (4.3)": "CNN"}

#: fxlab's model for each of the thesis's networks (the keys of :data:`THESIS_VALIDATION_MSE`).
THESIS_MODELS = {"LSTM, 384 units, 1024 window (4.1.1)": "thesis_lstm",
                 "reduced LSTM, 160 units, 512 window (4.1.3)": "thesis_lstm_reduced",
                 "GRU (4.2)": "thesis_gru", "dilated CNN (4.3)": "thesis_cnn"}

SPLIT_LABELS = {"val1": "V1", "val2": "V2"}
SPLIT_NAMES = {"val1": "Validation 1 (synthetic signals, unseen seeds)",
               "val2": "Validation 2 (recorded speech)"}

#: The thesis's validation audio: the voice clip, then the synthetic one (its Fig. 15).
COMBINED_ORDER = ("val2", "val1")


def combined_measure(result: dict, outputs: dict, *, splits, sr: int,
                     excerpt_seconds: float = 0.0,
                     clips: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """The thesis's measure: MSE (and ESR) over Validation 2 followed by Validation 1.

    The thesis scored its networks on its validation audio assembled as "Validation 2 (the voice)
    and then Validation 1" (section 4.1.3, Fig. 15), at the clips' own levels. Here every model is
    scored on the same stretch of each clip, joined V2 first, one MSE and one ESR taken over the
    join. Same data for every model: rows compare. Which stretch:

    - ``excerpt_seconds = 0`` (the run's own measure, ``metrics.json``'s ``combined``): the
      stretch every model was rendered on -- the intersection of their scored excerpts, so the
      thesis's windowed networks' excerpts when they are scored on excerpts, else the whole clips;
    - ``excerpt_seconds > 0`` (``combined_excerpts``): the loudest ``excerpt_seconds`` of each
      whole clip (``clips``), where a run scored on excerpts of that length scores its windowed
      networks. A run scored on whole clips thus also gives the number that compares with a run
      scored on excerpts (fxlab's reference run against the quick profile's). Models whose
      rendering does not cover that stretch are left out (``left_out``).

    Parameters
    ----------
    result : dict
        ``metrics.json`` under construction (each model's ``splits.<s>.start_s``/``seconds``).
    outputs : dict
        ``{model: {split: (target, output)}}`` as rendered, starting at ``start_s``.
    splits : sequence of str
    sr : int > 0
    excerpt_seconds : float >= 0
    clips : dict, optional
        ``{split: whole target clip}``; needed when ``excerpt_seconds > 0``.

    Returns
    -------
    dict
        ``order``, ``stretches`` (``{split: {"start_s", "seconds"}}``), ``whole_clips``,
        ``models`` (``{name: {"mse", "esr"}}``), ``left_out`` and ``definition`` (a sentence);
        ``models`` is empty when no stretch is common to the models.
    """
    order = [s for s in COMBINED_ORDER if s in splits]
    rendered = {name: {s: (round(e["splits"][s]["start_s"] * sr),
                           round((e["splits"][s]["start_s"] + e["splits"][s]["seconds"]) * sr))
                       for s in order}
                for name, e in result["models"].items()}
    stretches: dict[str, tuple[int, int]] = {}
    for s in order:
        if excerpt_seconds > 0:
            clip = np.asarray((clips or {})[s], np.float32)
            n = min(int(round(excerpt_seconds * sr)), clip.size)
            lo = loudest_start(clip, n, hop=sr // 100) if n < clip.size else 0
            stretches[s] = (lo, lo + n)
        else:
            lo = max(r[s][0] for r in rendered.values())
            hi = min(r[s][1] for r in rendered.values())
            if hi <= lo:
                return {"order": order, "stretches": {}, "whole_clips": False, "models": {},
                        "left_out": sorted(rendered),
                        "definition": "not computed: the models' excerpts of a clip do not overlap"}
            stretches[s] = (lo, hi)
    per_model, left_out = {}, []
    for name, r in rendered.items():
        if any(r[s][0] > stretches[s][0] or r[s][1] < stretches[s][1] for s in order):
            left_out.append(name)
            continue
        t_parts, y_parts = [], []
        for s in order:
            start = r[s][0]
            lo, hi = stretches[s]
            target, y = outputs[name][s]
            t_parts.append(target[lo - start:hi - start])
            y_parts.append(y[lo - start:hi - start])
        t, y = np.concatenate(t_parts), np.concatenate(y_parts)
        per_model[name] = {"mse": metrics.mse(t, y), "esr": metrics.esr(t, y)}
    seconds = {s: (hi - lo) / sr for s, (lo, hi) in stretches.items()}
    whole = (excerpt_seconds <= 0 and all(e["splits"][s].get("whole_clip", True)
                                          for e in result["models"].values() for s in order))
    what = "the whole clips" if whole else " and ".join(
        f"{seconds[s]:.2g} s of {SPLIT_LABELS[s]} from {stretches[s][0] / sr:.2f} s" for s in order)
    if excerpt_seconds > 0:
        what += f" (the loudest {excerpt_seconds:g} s of each)"
    return {
        "order": order,
        "stretches": {s: {"start_s": lo / sr, "seconds": (hi - lo) / sr}
                      for s, (lo, hi) in stretches.items()},
        "whole_clips": whole,
        "models": per_model,
        "left_out": left_out,
        "definition": (f"MSE over {' followed by '.join(SPLIT_LABELS[s] for s in order)} (the "
                       f"thesis's validation audio, its Fig. 15), every model on the same stretch: "
                       f"{what}"),
    }
