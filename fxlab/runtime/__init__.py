"""The runtime: everything that runs a trained network over audio, offline or live.

Nothing outside this package runs a network block by block. Start with :func:`render` (a whole
signal, offline, exact and fast) or :func:`make_processor` (block by block, state carried).

- :mod:`fxlab.runtime.streaming`   :func:`render` and :func:`make_processor`: the processor a
  model needs, chosen from its config (an odd network's two composed)
- :mod:`fxlab.runtime.processors`  one processor per kind (recurrent, convolutional, windowed,
  gray-box)
- :mod:`fxlab.runtime.processor`   their base :class:`Processor` (blocks, state, level watch,
  knobs) and :func:`check_block_size`
- :mod:`fxlab.runtime.knobs`       the knob smoothing (:func:`smooth_knobs`) and declarations of
  knob-conditioned networks
- :mod:`fxlab.runtime.files`       :func:`stream_file`: a WAV file through a processor, block by block
- :mod:`fxlab.runtime.engines`     the engines that run an LSTM/GRU (numba, TFLite, XLA,
  ``tf.function``, Keras), each within 1e-5 of Keras
- :mod:`fxlab.runtime.kernels`     the compiled (numba) per-sample LSTM/GRU kernels
- :mod:`fxlab.runtime.graybox_kernel` the compiled (numba) recursive filters of the gray-box emulator
- :mod:`fxlab.runtime.tcn_kernel`  the compiled (numba) TCN kernel with per-layer buffers (and FiLM,
  for a knob-conditioned TCN)

The weights an engine runs come from the model's own module in :mod:`fxlab.models` (its layer
names live there, beside its builder).
"""

from fxlab.runtime.engines import (
    DEFAULT_ORDER,
    ENGINE_NAMES,
    Engine,
    default_engine,
    make_engine,
)
from fxlab.runtime.files import stream_file
from fxlab.runtime.knobs import KNOB_SMOOTHING_S, smooth_knobs
from fxlab.runtime.streaming import (
    ConvProcessor,
    GrayboxProcessor,
    Processor,
    RecurrentProcessor,
    WindowedProcessor,
    check_block_size,
    make_processor,
    processor_class,
    render,
)

__all__ = [
    "KNOB_SMOOTHING_S",
    "DEFAULT_ORDER",
    "ENGINE_NAMES",
    "ConvProcessor",
    "GrayboxProcessor",
    "Engine",
    "Processor",
    "RecurrentProcessor",
    "WindowedProcessor",
    "check_block_size",
    "default_engine",
    "make_engine",
    "make_processor",
    "processor_class",
    "render",
    "smooth_knobs",
    "stream_file",
]
