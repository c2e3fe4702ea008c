"""``python -m fxlab.bench train [--minutes N] [--compare]``: train the recommended model within a time budget.

Builds the quick profile's data (``miniaudio``, the study's effect, 44.1 kHz, seed 0) with
:func:`fxlab.datasets.build_dataset` (or uses ``--data``), trains :data:`RECOMMENDED` from scratch
for at most ``--minutes`` (default 5; its learning rate follows a cosine over that budget), and
prints its ESR on Validation 1 and 2, the log-spectral distance on Validation 2 (the held-out
speech), the wall time and ``samples_per_s`` (samples in the loss per second of wall time,
validation included). With ``--compare`` it then trains the published recipe of
:mod:`fxlab.bench.reference` (PyTorch, the ``bench`` extra) on the same data and budget and prints
its row the same way. Then the thesis's reduced LSTM (160 units, 512-sample window) under the
quick profile's subsampling (:data:`THESIS_QUICK`), evaluated on the first
``--thesis-eval-seconds`` of Validation 2. The last line is ``key=value`` pairs::

    model=lstm-32 backend=jax esr_v1=... esr_v2=... lsd_v2_db=... wall_s=... samples_per_s=...
    [ref_esr_v1=... ref_esr_v2=... ref_samples_per_s=... ...] thesis_model=... thesis_esr_v2=... ...

``--backend`` (default ``jax`` when JAX is installed, else ``tensorflow``) picks the Keras
backend: the benchmark starts itself again in a fresh process with ``KERAS_BACKEND`` set when the
current one differs (docs/TRAINING_SPEED.md: the JAX backend trains this model ~3x faster on CPU).

Timings depend on the machine and its load; the benchmark prints them, it does not judge them.

- :func:`main`  the command
- :data:`RECOMMENDED`, :data:`THESIS_QUICK`  the two training configurations
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from fxlab.bench.backend import run_on_backend
from fxlab.metrics import esr, log_spectral_distance
from fxlab.training import TrainConfig, train

__all__ = ["RECOMMENDED", "THESIS_QUICK", "main"]

#: The recommended sample-level model (Wright et al. 2020's LSTM-32 with the input added back).
#: Short segments in wide batches: on a 2-core CPU the recurrent loop is sequential in time, so
#: 32 x 512 samples per step train ~5x faster per sample than 16 x 4096 (measured, busy machine).
#: The learning rate follows a cosine over the time budget (``auto`` with ``max_minutes``);
#: ``epochs`` only caps a run without a budget. See docs/TRAINING_SPEED.md.
RECOMMENDED = TrainConfig(model="lstm", model_params={"units": 32, "layers": 1}, loss="esr",
                          epochs=10000, batch_size=32, learning_rate=5e-3, lr_schedule="auto",
                          lr_final=0.02, patience=10000, segment=512, warmup=64, seed=0)
#: The thesis's reduced LSTM as the quick profile trains it: subsampled windows per epoch.
THESIS_QUICK = TrainConfig(model="thesis_lstm_reduced", loss="mse", epochs=2, batch_size=32,
                           learning_rate=3e-3, lr_schedule="constant", patience=100,
                           windows_per_epoch=2048, val_windows=256, seed=0)


def _lsd(target, output, sr):
    return float(log_spectral_distance(target, output, sr=sr))


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
    """Run the benchmark; returns its status (0)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m fxlab.bench train", description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="training budget of the recommended model")
    ap.add_argument("--epochs", type=int, default=RECOMMENDED.epochs,
                    help="most epochs of the recommended model (the budget normally stops it first)")
    ap.add_argument("--backend", choices=("jax", "tensorflow"), default=None,
                    help="Keras backend (default: jax when installed, else tensorflow)")
    ap.add_argument("--compare", action="store_true",
                    help="also train the published reference recipe (PyTorch) on the same data and budget")
    ap.add_argument("--thesis-minutes", type=float, default=3.0, help="budget of the thesis's reduced LSTM (0: skip)")
    ap.add_argument("--thesis-eval-seconds", type=float, default=0.5,
                    help="seconds of Validation 2 the windowed model is evaluated on")
    ap.add_argument("--data", default=None, help="an existing data set folder instead of building one")
    ap.add_argument("--work", default=None, help="folder for the data and models (default: a temporary one)")
    ap.add_argument("--verbose", type=int, default=2)
    args = ap.parse_args(argv)
    rerun = run_on_backend("train", argv, args.backend)
    if rerun is not None:  # the backend is fixed when Keras is first imported
        return rerun
    if args.compare:
        from fxlab.bench.reference import _torch
        from fxlab.errors import FxlabError

        try:
            _torch()  # fails now, not after the first training, when PyTorch is missing
        except FxlabError as e:
            print(e, file=sys.stderr)
            return 2

    import keras

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, keras {keras.__version__} "
          f"({keras.backend.backend()}), python {platform.python_version()}")
    ds = _data(args)
    v2 = ds.split("val2")
    work = Path(args.work or tempfile.mkdtemp(prefix="fxlab-bench-"))
    results = {}

    v1 = ds.split("val1")
    t0 = time.perf_counter()
    tm = train(ds, work / "models" / "recommended", RECOMMENDED.replace(max_minutes=args.minutes, epochs=args.epochs),
               verbose=args.verbose)
    wall = time.perf_counter() - t0
    from fxlab.training import read_history

    trained = sum(r["train_samples"] for r in read_history(tm.path))
    y = tm.predict(v2.dry)
    results.update({"model": f"lstm-{RECOMMENDED.model_params['units']}", "backend": keras.backend.backend(),
                    "esr_v1": esr(v1.wet, tm.predict(v1.dry)), "esr_v2": esr(v2.wet, y),
                    "lsd_v2_db": _lsd(v2.wet, y, ds.sr), "wall_s": wall, "samples_per_s": trained / wall,
                    "epochs": tm.summary["epochs_run"]})
    print(f"fxlab {results['model']} ({results['backend']}): ESR on Validation 1 {results['esr_v1']:.3g}, "
          f"Validation 2 {results['esr_v2']:.3g}, log-spectral distance {results['lsd_v2_db']:.3g} dB, "
          f"{wall:.0f} s, {results['samples_per_s']:,.0f} samples/s "
          f"({tm.summary['epochs_run']} epochs, {tm.summary['stopped']})")

    if args.compare:
        from fxlab.bench.reference import train_reference

        splits = {s: (ds.split(s).dry, ds.split(s).wet) for s in ("train", "val1", "val2")}
        ref = train_reference(splits, args.minutes, seed=0, log=print if args.verbose else None)
        results.update({f"ref_{k}": v for k, v in ref.items() if k != "train_samples"})
        print(f"reference lstm-32 (PyTorch, published recipe): ESR on Validation 1 {ref['esr_v1']:.3g}, "
              f"Validation 2 {ref['esr_v2']:.3g}, {ref['wall_s']:.0f} s, {ref['samples_per_s']:,.0f} samples/s "
              f"({ref['epochs']} epochs)")

    if args.thesis_minutes > 0:
        t0 = time.perf_counter()
        th = train(ds, work / "models" / "thesis_lstm_reduced", THESIS_QUICK.replace(max_minutes=args.thesis_minutes),
                   verbose=args.verbose)
        twall = time.perf_counter() - t0
        n = int(args.thesis_eval_seconds * ds.sr)
        yt = th.predict(v2.dry, max_samples=n)
        results.update({"thesis_model": "thesis_lstm_reduced", "thesis_esr_v2": esr(v2.wet[:n], yt),
                        "thesis_lsd_v2_db": _lsd(v2.wet[:n], yt, ds.sr), "thesis_wall_s": twall,
                        "thesis_windows_per_epoch": THESIS_QUICK.windows_per_epoch,
                        "thesis_eval_s": args.thesis_eval_seconds})
        print(f"thesis_lstm_reduced ({THESIS_QUICK.windows_per_epoch} windows/epoch): ESR on the first "
              f"{args.thesis_eval_seconds:g} s of Validation 2 {results['thesis_esr_v2']:.3g}, "
              f"log-spectral distance {results['thesis_lsd_v2_db']:.3g} dB, {twall:.0f} s")
    print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in results.items()))
    return 0
