"""``python -m fxlab.bench film``: the cost of FiLM in the TCN's numba kernel, per sample.

On one CPU core (:func:`fxlab.latency.pin_one_core`), a freshly built TCN (``--channels``,
``--layers``; default 16 channels, 10 layers) and the same TCN conditioned on one knob by FiLM
(``knobs=1``, :mod:`fxlab.models.tcn`) stream seeded white noise in 64-sample blocks through
:func:`fxlab.runtime.make_processor` (engine numba). The time per block does not depend on the
weights' values. Four cases, each timed over ``--blocks`` blocks after a warm-up (median and
99th percentile per block, reported per sample):

- ``plain``     the unconditioned TCN
- ``held``      the conditioned TCN with its knob held: the generator ran once, its scales and
  shifts are reused every sample (what a plugin costs while nobody touches the knob)
- ``gliding``   the knob moved between 10 and 35 dB every 32 blocks: the smoothed value
  (:func:`fxlab.runtime.smooth_knobs`) differs every sample, so the generator runs every sample
- ``per_sample`` ``process_inputs`` with a new random knob value every sample (training data's
  worst case)

The last line is ``key=value`` pairs: ``us_per_sample_plain=… us_per_sample_held=…
us_per_sample_gliding=… us_per_sample_per_sample=… rtf_64_gliding=…``.

Functions
---------
- :func:`main`   command-line entry (``argv`` without the program name); returns 0
"""

from __future__ import annotations

import argparse
import time

__all__ = ["main"]

_BLOCK = 64


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print its figures, the last line as ``key=value`` pairs."""
    ap = argparse.ArgumentParser(prog="python -m fxlab.bench film",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--blocks", type=int, default=3000, help="64-sample blocks timed per case")
    args = ap.parse_args(argv)
    from fxlab import latency

    cond = latency.pin_one_core()  # before anything runs TensorFlow
    import numpy as np

    from fxlab import runtime
    from fxlab.effects import get_effect
    from fxlab.errors import ParameterError
    from fxlab.models import build_model
    from fxlab.models.tcn import tcn_spec

    if args.blocks < 1:
        raise ParameterError(f"--blocks={args.blocks}: found a count below 1; expected >= 1. "
                             "Fix: pass --blocks 3000")
    info = latency.machine_info()
    machine = info["machine"]
    print(f"machine: {machine['cpu']} ({machine['cores']} cores), pinned to core(s) "
          f"{cond['cpu_affinity']}, load average {info['load_average']}")
    kw = {"channels": args.channels, "layers": args.layers}
    plain = runtime.make_processor(build_model("tcn", seed=0, **kw), engine="numba")
    knob = get_effect("drive").knobs[:1]
    model = build_model("tcn", seed=0, knobs=1, **kw)
    spec = tcn_spec(model, film=True)
    print(f"tcn {kw}: {spec.macs_per_sample} multiply-adds per sample, FiLM generator "
          f"{spec.film.macs} per run")
    proc = runtime.make_processor(model, engine="numba", knobs=knob)
    rng = np.random.default_rng(0)
    n = (args.blocks + 50) * _BLOCK
    x = rng.uniform(-0.5, 0.5, n).astype(np.float32)
    rows = np.stack([x, rng.uniform(0, 1, n).astype(np.float32)], axis=1)

    def run(step) -> np.ndarray:
        times = []
        for b in range(args.blocks + 50):
            t0 = time.perf_counter()
            step(b)
            if b >= 50:  # the first blocks compile and warm the caches
                times.append(time.perf_counter() - t0)
        return np.asarray(times)

    def glide(b):
        if b % 32 == 0:
            proc.set_knobs(gain_db=10.0 if (b // 32) % 2 else 35.0)
        proc.process(x[b * _BLOCK:(b + 1) * _BLOCK])

    cases = {
        "plain": (plain.reset, lambda b: plain.process(x[b * _BLOCK:(b + 1) * _BLOCK])),
        "held": (proc.reset, lambda b: proc.process(x[b * _BLOCK:(b + 1) * _BLOCK])),
        "gliding": (proc.reset, glide),
        "per_sample": (proc.reset,
                       lambda b: proc.process_inputs(rows[b * _BLOCK:(b + 1) * _BLOCK])),
    }
    out = {}
    for name, (reset, step) in cases.items():
        reset()
        t = run(step)
        med, p99 = float(np.median(t)), float(np.percentile(t, 99))
        out[f"us_per_sample_{name}"] = round(med / _BLOCK * 1e6, 3)
        out[f"rtf_64_{name}"] = round(med / (_BLOCK / proc.sr), 4)
        print(f"{name:>10}: {med * 1e6:8.1f} us per 64-sample block (p99 {p99 * 1e6:.1f}), "
              f"{med / _BLOCK * 1e6:.3f} us per sample, real-time factor {out[f'rtf_64_{name}']}")
    print(" ".join(f"{k}={v}" for k, v in out.items()))
    return 0
