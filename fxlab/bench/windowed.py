"""Throughput of the thesis's windowed networks offline: windows per second, whole clips.

Every output sample of a windowed network is one forward pass over its own window, so scoring a
whole validation clip costs as many passes as it has samples (Validation 1 + 2: 10 s, 441,000
passes at 44.1 kHz). :class:`fxlab.runtime.WindowedProcessor` runs the windows of a signal through
the network in batches; this benchmark times it at several batch sizes, freshly built networks
(the time does not depend on the weights' values), and prints windows/s and the time a whole
10 s of validation audio would take.

    python -m fxlab.bench windowed [--models thesis_lstm_reduced,thesis_gru,thesis_cnn]
                                   [--batches 256,1024,4096] [--seconds 0.25] [--cnn-size quick|paper]

The last line is ``key=value`` pairs.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0."""
    ap = argparse.ArgumentParser(prog="python -m fxlab.bench windowed", description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="thesis_lstm_reduced,thesis_gru,thesis_cnn")
    ap.add_argument("--batches", default="256,1024,4096", help="windows per forward call")
    ap.add_argument("--seconds", type=float, default=0.25, help="audio timed per configuration")
    ap.add_argument("--cnn-size", choices=("quick", "paper"), default="quick",
                    help="thesis_cnn at the quick profile's 32/32 or the thesis's 128/128")
    args = ap.parse_args(argv)

    import keras
    import numpy as np

    from fxlab import runtime
    from fxlab.models import build_model

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, keras {keras.__version__} "
          f"({keras.backend.backend()}), python {platform.python_version()}")
    x = (0.25 * np.random.default_rng(0).standard_normal(int(args.seconds * 44100))).astype(np.float32)
    batches = [int(b) for b in args.batches.split(",")]
    summary = {}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        kw = {"filters": 32, "kernel": 32} if name == "thesis_cnn" and args.cnn_size == "quick" else {}
        proc = runtime.make_processor(build_model(name, seed=0, **kw))
        best = None
        for b in batches:
            proc.window_batch = b
            runtime.render(proc, x[: min(x.size, 2 * b)])  # warm up (trace) at this batch
            t0 = time.perf_counter()
            runtime.render(proc, x)
            dt = time.perf_counter() - t0
            rate = x.size / dt
            print(f"{name:>20s} batch {b:5d}: {rate:9.0f} windows/s, whole V1+V2 (10 s) in "
                  f"{441000 / rate / 60:6.1f} min, RTF {dt / args.seconds:8.1f}")
            if best is None or rate > best[1]:
                best = (b, rate)
        summary[name] = best
    print(" ".join(f"{n}_windows_per_s={r:.0f} {n}_best_batch={b}" for n, (b, r) in summary.items()))
    return 0
