"""The listening test's answer scale, its hidden controls and the thesis's result.

- :data:`ANSWERS`        the thesis's four answers (section 3.5.2), by value
- :data:`CONTROL_SAME`   hidden control: the target against itself (an attentive rater answers 4)
- :data:`CONTROL_DRY`    hidden control: the target against the unprocessed input (not 4)
- :data:`CONTROLS`       both controls
- :data:`THESIS_LSTM`    the thesis's listening result for its LSTM (section 4.1.2)
"""

from __future__ import annotations

from typing import Any

__all__ = ["ANSWERS", "CONTROL_DRY", "CONTROL_SAME", "CONTROLS", "THESIS_LSTM"]

#: The thesis's four answers (section 3.5.2), by value.
ANSWERS: dict[int, str] = {
    1: "Not similar at all",
    2: "Some similarities",
    3: "Almost the same",
    4: "The same",
}

#: Hidden control: the target against itself (an attentive rater answers 4).
CONTROL_SAME = "control_same"
#: Hidden control: the target against the unprocessed input (an attentive rater does not answer 4).
CONTROL_DRY = "control_dry"
CONTROLS = (CONTROL_SAME, CONTROL_DRY)
# Names a model may not have: the clip files are target.wav, dry.wav and <model>.wav, and the
# evaluation writes the target itself to rendered/target/.
RESERVED = frozenset({"target", "dry", *CONTROLS})

#: The thesis's listening result for its LSTM (384 units, 1024-sample window), section 4.1.2: 9
#: raters, one answer each on the voice clip (Validation 2). The thesis states a mean of 2.25; its
#: own counts (3, 4, 2, 0) give 17/9 = 1.89. Both are kept: ``mean_stated`` is what the thesis
#: reports, ``mean_from_counts`` what its list implies.
THESIS_LSTM: dict[str, Any] = {
    "label": "thesis LSTM 384/1024 (section 4.1.2)",
    "clip": "val2",
    "raters": 9,
    "counts": {1: 3, 2: 4, 3: 2, 4: 0},
    "mean_stated": 2.25,
    "mean_from_counts": 17 / 9,
}
