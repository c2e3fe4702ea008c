"""``python -m fxlab.bench capture [--minutes N]``: captures of fxlab's own effects from real recordings.

Builds dry/wet pairs from the shipped instrument recordings (:mod:`fxlab.recordings`: guitar,
tabla, a drum roll, 37 s, played twice, at peaks of -6 and -18 dBFS: 75 s) through two effects
of fxlab's -- a resonant linear EQ (:data:`EQ`: a +12 dB, Q 4 peak at 800 Hz into a 4 kHz
2nd-order low-pass) and a drive pedal (:data:`DRIVE`) -- each also with 37 samples of latency
added to the wet file. Each pair is trained with ``fxlab train``'s defaults and a ``--minutes``
budget (default 10), then the model is run on material it never saw (guitar harmonics, piano and
the study's speech, at -10 dBFS peak) and scored against the effect's output there. The last line
is ``key=value`` pairs::

    esr_eq=... esr_drive=... esr_eq_lat37=... esr_drive_lat37=... latency_error_samples=...
    heldout_esr_eq=... ... minutes=... wall_s=...

``esr_*`` are on the unseen material; ``heldout_esr_*`` are ``fxlab train``'s own held-out ESR
(the last 20 % of the pair); ``latency_error_samples`` is the largest error of the latencies
found (37 expected, 0 for the pairs without latency). Targets (issue): EQ <= 1e-3, drive <= 0.01
with 10 minutes; latency exact. Timings depend on the machine and its load.

- :func:`main`, :func:`make_material`, :data:`EQ`, :data:`DRIVE`
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["DRIVE", "EQ", "LATENCY", "main", "make_material"]

SR = 44_100
EQ = ({"name": "peaking", "params": {"freq_hz": 800.0, "gain_db": 12.0, "q": 4.0}},
      {"name": "lowpass", "params": {"cutoff_hz": 4000.0, "order": 2}})
"""The resonant linear EQ: effects applied in order."""
DRIVE = ({"name": "drive", "params": {"gain_db": 20.0, "tone": 0.5638, "level_db": -6.0,
                                     "oversample": 1}},)
"""The drive pedal (:mod:`fxlab.effects.drive`; ``tone`` 0.5638: a 3 kHz tone low-pass; not oversampled, see fxlab.capture.pairs on the latency of soft-starting filters)."""
LATENCY = 37
TRAIN_RECORDINGS = ("guitar_em9", "guitar_fifths", "guitar_slide", "tabla", "drum_roll")
TEST_RECORDINGS = ("guitar_harmonics", "piano", "speech")


def _chain(specs, x):
    from fxlab.effects import effect_from_spec

    for spec in specs:
        x = effect_from_spec(spec)(x, SR)
    return x


def make_material() -> tuple[np.ndarray, np.ndarray]:
    """(training dry signal, unseen test dry signal), float32 at 44.1 kHz.

    Training: :data:`TRAIN_RECORDINGS` joined with 0.25 s gaps, once at -6 dBFS peak and once at
    -18 dBFS. Test: :data:`TEST_RECORDINGS` at -10 dBFS peak, joined likewise.
    """
    from fxlab.recordings import load_recording

    gap = np.zeros(SR // 4, np.float32)

    def joined(names, peak):
        parts = []
        for n in names:
            parts += [load_recording(n, sr=SR, peak_dbfs=peak), gap]
        return np.concatenate(parts)

    train = np.concatenate([joined(TRAIN_RECORDINGS, -6.0), joined(TRAIN_RECORDINGS, -18.0)])
    return train, joined(TEST_RECORDINGS, -10.0)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0."""
    ap = argparse.ArgumentParser(prog="python -m fxlab.bench capture", description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="fxlab train --minutes for each pair")
    ap.add_argument("--work", default=None, help="folder for the pairs and models (default: temporary)")
    ap.add_argument("--only", nargs="+", default=None,
                    help="cases to run: eq drive eq_lat37 drive_lat37 (default all)")
    args = ap.parse_args(argv)

    import keras

    from fxlab.audio import write_wav
    from fxlab.cli import main as fxlab_main
    from fxlab.training import load_trained

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"keras {keras.__version__} ({keras.backend.backend()}), python {platform.python_version()}")
    work = Path(args.work or tempfile.mkdtemp(prefix="fxlab-bench-capture-"))
    work.mkdir(parents=True, exist_ok=True)
    train_dry, test_dry = make_material()
    print(f"pairs of {train_dry.size / SR:.1f} s from {', '.join(TRAIN_RECORDINGS)}; unseen test "
          f"material {test_dry.size / SR:.1f} s from {', '.join(TEST_RECORDINGS)}")
    write_wav(work / "dry.wav", train_dry, SR, subtype="FLOAT")
    cases = {"eq": (EQ, 0), "drive": (DRIVE, 0), "eq_lat37": (EQ, LATENCY),
             "drive_lat37": (DRIVE, LATENCY)}
    results: dict[str, float | int | str] = {}
    latency_errors = []
    t_all = time.perf_counter()
    for name, (specs, latency) in cases.items():
        if args.only and name not in args.only:
            continue
        wet = _chain(specs, train_dry)
        if latency:
            wet = np.concatenate([np.zeros(latency, np.float32), wet[:-latency]])
        write_wav(work / f"wet_{name}.wav", wet, SR, subtype="FLOAT")
        out = work / "models" / name
        t0 = time.perf_counter()
        fxlab_main(["train", "--dry", str(work / "dry.wav"), "--wet", str(work / f"wet_{name}.wav"),
                    "--out", str(out), "--minutes", f"{args.minutes:g}"])
        wall = time.perf_counter() - t0
        found = json.loads((out / "pair.json").read_text())["latency_samples"]
        latency_errors.append(abs(found - latency))
        tm = load_trained(out)
        target = _chain(specs, test_dry)
        pred = np.asarray(tm.predict(test_dry), np.float64).reshape(-1)
        esr = float(np.sum((target - pred) ** 2) / np.sum(target.astype(np.float64) ** 2))
        grade = json.loads((out / "grade.json").read_text())
        results[f"esr_{name}"] = esr
        results[f"heldout_esr_{name}"] = grade["esr"]
        results[f"latency_{name}"] = int(found)
        print(f"{name}: latency found {found} (added {latency}); ESR on unseen material {esr:.3g}; "
              f"held-out {grade['esr']:.3g} ({grade['words']}); {wall:.0f} s, "
              f"{tm.summary['epochs_run']} epochs ({tm.summary['stopped']})")
    results["latency_error_samples"] = int(max(latency_errors)) if latency_errors else 0
    results["minutes"] = args.minutes
    results["wall_s"] = time.perf_counter() - t_all
    order = [k for k in ("esr_eq", "esr_drive", "esr_eq_lat37", "esr_drive_lat37",
                         "latency_error_samples") if k in results]
    order += [k for k in results if k not in order]
    print(" ".join(f"{k}={results[k]:.4g}" if isinstance(results[k], float) else f"{k}={results[k]}"
                   for k in order))
    return 0
