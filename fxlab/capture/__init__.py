"""The capture: a user's own dry/wet recording of an effect, to a checked, aligned, graded model.

================ =========================================================================
module           what it holds
================ =========================================================================
``alignment``    :func:`estimate_latency` (the onset of the effect's response from arbitrary
                 material) and :func:`estimate_offset`: measuring only
``pairs``        :func:`load_pair` (read, check and align a pair: what a measured latency
                 means for it)
``reamp``        the reamp signal with calibration clicks (``fxlab reamp-signal``), its
                 recognition and the latency from its clicks
``report``       the data report of a pair (levels, relatedness, two takes' floor) and the
                 grade of a held-out ESR on Neural Amp Modeler's scale
``command``      :func:`~fxlab.capture.command.train_on_pair` and the ``fxlab train`` and
                 ``fxlab reamp-signal`` commands (imports the trainer: not loaded here)
================ =========================================================================

The capture sits above :mod:`fxlab.training` (it trains through it) and below nothing: the
library's other rooms do not import it, except the knob audition, which borrows the grade's
scale.
"""

from fxlab.capture.alignment import LatencyEstimate, estimate_latency
from fxlab.capture.pairs import AudioPair, load_pair
from fxlab.capture.reamp import ReampLayout, align_from_clicks, reamp_signal, write_reamp_signal
from fxlab.capture.report import GRADE_SCALE, format_report, grade, pair_report

__all__ = ["GRADE_SCALE", "AudioPair", "LatencyEstimate", "ReampLayout", "align_from_clicks",
           "estimate_latency", "format_report", "grade", "load_pair", "pair_report",
           "reamp_signal", "write_reamp_signal"]
