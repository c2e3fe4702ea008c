"""``python -m fxlab.bench train [--minutes N]``: train the recommended model within a time budget.

Builds the quick profile's data (``miniaudio``, the study's effect, 44.1 kHz, seed 0) with
:func:`fxlab.datasets.build_dataset` (or uses ``--data``), trains :data:`RECOMMENDED` from scratch
for at most ``--minutes`` (default 5), and prints its ESR and log-spectral distance on Validation 2
(the held-out speech) and the wall time; then the thesis's reduced LSTM (160 units, 512-sample
window) under the quick profile's subsampling (:data:`THESIS_QUICK`), evaluated on the first
``--thesis-eval-seconds`` of Validation 2. The last line is ``key=value`` pairs::

    model=lstm-32 esr_v2=... lsd_v2_db=... wall_s=... thesis_model=... thesis_esr_v2=... ...

Timings depend on the machine and its load; the benchmark prints them, it does not judge them.

- :func:`main`  the command
- :data:`RECOMMENDED`, :data:`THESIS_QUICK`  the two training configurations
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from fxlab.training import TrainConfig, train

__all__ = ["RECOMMENDED", "THESIS_QUICK", "main"]

#: The recommended sample-level model (Wright et al. 2020's LSTM-32 with the input added back).
#: Short segments in wide batches: on a 2-core CPU the recurrent loop is sequential in time, so
#: 32 x 512 samples per step train ~5x faster per sample than 16 x 4096 (measured, busy machine).
RECOMMENDED = TrainConfig(model="lstm", model_params={"units": 32, "layers": 1}, loss="esr",
                          epochs=30, batch_size=32, learning_rate=5e-3, lr_schedule="cosine",
                          lr_final=0.02, patience=30, segment=512, warmup=64, seed=0)
#: The thesis's reduced LSTM as the quick profile trains it: subsampled windows per epoch.
THESIS_QUICK = TrainConfig(model="thesis_lstm_reduced", loss="mse", epochs=2, batch_size=32,
                           learning_rate=3e-3, lr_schedule="constant", patience=100,
                           windows_per_epoch=2048, val_windows=256, seed=0)


def _lsd(target, output, sr):
    try:
        from fxlab.metrics import log_spectral_distance
    except ImportError:  # the metrics module is optional here
        def log_spectral_distance(t, o, *, sr):
            from scipy.signal import welch

            _, pt = welch(t, sr, nperseg=8192)
            _, po = welch(o, sr, nperseg=8192)
            return float(np.sqrt(np.mean((10 * np.log10(pt + 1e-20) - 10 * np.log10(po + 1e-20)) ** 2)))
    return float(log_spectral_distance(target, output, sr=sr))


def _esr(target, output):
    return float(np.sum((target - output) ** 2) / np.sum(target**2))


def _data(args):
    if args.data:
        from fxlab.datasets import load_dataset

        return load_dataset(args.data)
    from fxlab.datasets import build_dataset
    from fxlab.effects import STUDY_EFFECT

    spec = getattr(STUDY_EFFECT, "spec", STUDY_EFFECT)
    out = Path(args.work or tempfile.mkdtemp(prefix="fxlab-bench-")) / "data"
    return build_dataset(out, train_set="miniaudio", effect=spec, sr=44100, seed=0)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0."""
    ap = argparse.ArgumentParser(prog="python -m fxlab.bench train", description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="training budget of the recommended model")
    ap.add_argument("--epochs", type=int, default=RECOMMENDED.epochs,
                    help="epochs of the recommended model (its cosine schedule spans them)")
    ap.add_argument("--thesis-minutes", type=float, default=3.0, help="budget of the thesis's reduced LSTM (0: skip)")
    ap.add_argument("--thesis-eval-seconds", type=float, default=0.5,
                    help="seconds of Validation 2 the windowed model is evaluated on")
    ap.add_argument("--data", default=None, help="an existing data set folder instead of building one")
    ap.add_argument("--work", default=None, help="folder for the data and models (default: a temporary one)")
    ap.add_argument("--verbose", type=int, default=2)
    args = ap.parse_args(argv)

    import keras

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, keras {keras.__version__} "
          f"({keras.backend.backend()}), python {platform.python_version()}")
    ds = _data(args)
    v2 = ds.split("val2")
    work = Path(args.work or tempfile.mkdtemp(prefix="fxlab-bench-"))
    results = {}

    t0 = time.perf_counter()
    tm = train(ds, work / "models" / "recommended", RECOMMENDED.replace(max_minutes=args.minutes, epochs=args.epochs),
               verbose=args.verbose)
    wall = time.perf_counter() - t0
    y = tm.predict(v2.dry)
    results.update({"model": f"lstm-{RECOMMENDED.model_params['units']}", "esr_v2": _esr(v2.wet, y),
                    "lsd_v2_db": _lsd(v2.wet, y, ds.sr), "wall_s": wall, "epochs": tm.summary["epochs_run"]})
    print(f"recommended {results['model']}: ESR on Validation 2 {results['esr_v2']:.3g}, "
          f"log-spectral distance {results['lsd_v2_db']:.3g} dB, {wall:.0f} s "
          f"({tm.summary['epochs_run']} epochs, {tm.summary['stopped']})")

    if args.thesis_minutes > 0:
        t0 = time.perf_counter()
        th = train(ds, work / "models" / "thesis_lstm_reduced", THESIS_QUICK.replace(max_minutes=args.thesis_minutes),
                   verbose=args.verbose)
        twall = time.perf_counter() - t0
        n = int(args.thesis_eval_seconds * ds.sr)
        yt = th.predict(v2.dry, max_samples=n)
        results.update({"thesis_model": "thesis_lstm_reduced", "thesis_esr_v2": _esr(v2.wet[:n], yt),
                        "thesis_lsd_v2_db": _lsd(v2.wet[:n], yt, ds.sr), "thesis_wall_s": twall,
                        "thesis_windows_per_epoch": THESIS_QUICK.windows_per_epoch,
                        "thesis_eval_s": args.thesis_eval_seconds})
        print(f"thesis_lstm_reduced ({THESIS_QUICK.windows_per_epoch} windows/epoch): ESR on the first "
              f"{args.thesis_eval_seconds:g} s of Validation 2 {results['thesis_esr_v2']:.3g}, "
              f"log-spectral distance {results['thesis_lsd_v2_db']:.3g} dB, {twall:.0f} s")
    print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in results.items()))
    return 0
