"""Benchmarks that print numbers for the closing notes (not pass/fail tests).

- ``python -m fxlab.bench train [--minutes N]``  :mod:`fxlab.bench.train`: the recommended sample-level
  model and the thesis's reduced LSTM trained on the quick profile's data; ESR and log-spectral
  distance on Validation 2, wall time
- ``python -m fxlab.bench capture [--minutes N]`` :mod:`fxlab.bench.capture`: ``fxlab train`` on pairs
  made from real recordings through fxlab's resonant EQ and drive (with and without latency); ESR
  on unseen material, the latency found
- ``python -m fxlab.bench latency ...``          :mod:`fxlab.bench.latency`: streaming latency
- ``python -m fxlab.bench windowed ...``         :mod:`fxlab.bench.windowed`: offline throughput of
  the thesis's windowed networks (windows/s; whole validation clips)
- ``python -m fxlab.bench film``                 :mod:`fxlab.bench.film`: the numba TCN's cost per
  sample unconditioned and conditioned by FiLM (knob held, gliding, new every sample)
- ``python -m fxlab.bench sweep [--workers 2]``  :mod:`fxlab.bench.sweep`: a 4-point tiny sweep on
  Dask workers against the same points run one after another (wall-time ratio)
- ``python -m fxlab.bench pedal [--minutes N]``  :mod:`fxlab.bench.pedal`: the ``pedal`` profile's
  knob-conditioned LSTM trained to a budget; ESR on real recordings at gains seen and never seen,
  streamed real-time factor
- ``python -m fxlab.bench graybox [--minutes N]`` :mod:`fxlab.bench.graybox`: the traditional emulator
  (``graybox``) against the recommended network on the study's EQ and the pedal's drive, the same
  data and budget; ESR on real recordings (unseen gains for the drive), harmonics, RTF at 64
- ``python -m fxlab.bench gear [--minutes N]``   :mod:`fxlab.bench.gear`: the pedal benchmark on real
  LV2 plugins (guitarix's Tube Screamer and compressor, profiles ``gear`` and ``gear-compressor``)

:mod:`fxlab.bench.backend` reruns a training benchmark under the Keras backend asked for.
"""

__all__: list[str] = []
