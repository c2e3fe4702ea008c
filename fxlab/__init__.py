"""fxlab: a rerunnable study of neural networks that emulate audio effects.

The library behind the study's notebooks. One job per module, in pipeline order:

- :mod:`fxlab.signals`   seeded test signals (noises, sweeps, envelopes)
- :mod:`fxlab.effects`   target effects by name (the thesis's 440 Hz high-pass, EQs, pedalboard, VST3)
- :mod:`fxlab.audio`     WAV I/O, resampling, checked loading of a user's dry/wet pair
- :mod:`fxlab.datasets`  data sets on disk, cached by recipe, with a manifest
- :mod:`fxlab.models`, :mod:`fxlab.losses`, :mod:`fxlab.training`   networks and their training
- :mod:`fxlab.metrics`, :mod:`fxlab.evaluate`   the quantitative tests
- :mod:`fxlab.perceptual`  ViSQOL v3: a perceptual score (MOS-LQO) of a model's output
- :mod:`fxlab.plots`     every figure of the study, one module per step
- :mod:`fxlab.harmonics` a distortion's harmonics and aliasing, sines at several levels (effect vs model)
- :mod:`fxlab.listening` the blind A/B listening test
- :mod:`fxlab.runtime`   everything that runs a network over audio (engines, kernels, processors)
- :mod:`fxlab.latency`   real-time measurement (block sizes, engines, one core)
- :mod:`fxlab.progress`, :mod:`fxlab.util`   live progress lines; the shared small helpers
- :mod:`fxlab.pipeline`, :mod:`fxlab.report`, :mod:`fxlab.cli`      papermill runs and the report

Importing ``fxlab`` does not import TensorFlow; the modules that need it import it themselves.
"""

from fxlab.errors import FxlabError

__version__ = "0.1.0"
__all__ = ["FxlabError", "__version__"]
