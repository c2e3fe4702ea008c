"""``python -m fxlab.bench capture [--minutes N]``: captures of fxlab's own effects, judged in step.

Two ways a user records their gear, each through fxlab's effects, each trained with ``fxlab
train``'s defaults and a ``--minutes`` budget (default 10), then played on material it never saw
(guitar harmonics, piano and the study's speech, at -10 dBFS peak) *in step* -- the model's
output, delayed by the latency the capture removed, against the effect's output with its true
latency, sample for sample, as a player hears it (a capture whose latency came out wrong pays
for it here, whatever its held-out grade said):

- **arbitrary material** (the shipped instrument recordings, guitar, tabla, a drum roll, 37 s,
  played twice, at peaks of -6 and -18 dBFS: 75 s): ``eq``, ``drive``, ``eq_lat37``,
  ``drive_lat37`` and ``drive_tone``. A latency the capture cannot measure with confidence is
  asked for, not applied (``fxlab.capture.pairs``): such a case prints ``asked`` and trains
  nothing (the user's next step is the reamp signal);
- **the reamp signal** (``fxlab reamp-signal``, 90 s, whose body uses the same five recordings):
  ``reamp_eq`` and ``reamp_drive`` (37 samples of latency), ``reamp_drive_tone`` (none);
  ``reamp_eq``'s EQ has its output trimmed 12 dB (:data:`EQ_TRIMMED`) so that the recording does
  not clip.

The effects: :data:`EQ` (a +12 dB, Q 4 peak at 800 Hz into a 4 kHz 2nd-order low-pass),
:data:`DRIVE` (20 dB into tanh, a 3 kHz tone low-pass, not oversampled) and :data:`DRIVE_TONE`
(20 dB into tanh, 4x oversampled with elliptic anti-aliasing filters, a dark 1.1 kHz tone
low-pass: a response that starts softly, the hard case for latency). The last line is
``key=value`` pairs::

    esr_eq=... esr_drive=... esr_eq_lat37=... esr_drive_lat37=... esr_drive_tone=...
    esr_reamp_eq=... esr_reamp_drive=... esr_reamp_drive_tone=... latency_error_samples=...
    latency_error_reamp=... latency_<case>=... heldout_esr_<case>=... falls_silent_<case>=...
    minutes=... wall_s=...

``esr_*`` are in step on the unseen material (``asked`` where the capture asked for the
latency); ``heldout_esr_*`` are ``fxlab train``'s own grades; ``latency_error_samples`` is the
worst signed error over every case that applied a latency (found minus true: negative means the
model keeps a delay, positive that it was asked to predict the future), ``latency_error_reamp``
the same over the reamp cases; ``falls_silent_*`` is 1 where the model's output dies away after
the input stops (:func:`fxlab.capture.report.silence_check`). Targets (issues): EQ <= 1e-3, drive <= 0.01 with 10 minutes; the
reamp latency exact (0), the others within -1..0. Timings depend on the machine and its load.

With ``--compare nam`` each trained case also trains Neural Amp Modeler's own recipe (its default
packed WaveNet, the 8-channel "standard" model scored) on the same samples, with the latency
fxlab's capture found and the same ``--minutes``, and scores it in step the same way
(:mod:`fxlab.bench.nam_compare`; the ``interop`` extra): ``esr_<case>_nam=`` beside
``esr_<case>=``, ``nam_epochs_<case>=``, ``nam_wall_s_<case>=``, and a table of both.

- :func:`main`, :func:`make_material`, :data:`EQ`, :data:`DRIVE`, :data:`DRIVE_TONE`, :data:`CASES`
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["CASES", "DRIVE", "DRIVE_TONE", "EQ", "EQ_TRIMMED", "LATENCY", "main", "make_material"]

SR = 44_100
EQ = ({"name": "peaking", "params": {"freq_hz": 800.0, "gain_db": 12.0, "q": 4.0}},
      {"name": "lowpass", "params": {"cutoff_hz": 4000.0, "order": 2}})
"""The resonant linear EQ: effects applied in order."""
EQ_TRIMMED = EQ + ({"name": "pedalboard.Gain", "params": {"gain_db": -12.0}},)
"""The same EQ with its output trimmed 12 dB: the reamp signal's sweeps reach -1 dBFS, and +12 dB at
800 Hz would clip the recording (fxlab train refuses a clipped wet), as it would on real gear."""
DRIVE = ({"name": "drive", "params": {"gain_db": 20.0, "tone": 0.5638, "level_db": -6.0,
                                     "oversample": 1}},)
"""The drive pedal (:mod:`fxlab.effects.drive`; ``tone`` 0.5638: a 3 kHz tone low-pass; not oversampled, see fxlab.capture.pairs on the latency of soft-starting filters)."""
DRIVE_TONE = ({"name": "drive", "params": {"gain_db": 20.0, "tone": 0.25, "level_db": -6.0,
                                          "oversample": 4}},)
"""The drive with a dark tone (1.1 kHz), oversampled: its response starts softly."""
LATENCY = 37
CASES = {"eq": (EQ, 0, False), "drive": (DRIVE, 0, False), "eq_lat37": (EQ, LATENCY, False),
         "drive_lat37": (DRIVE, LATENCY, False), "drive_tone": (DRIVE_TONE, 0, False),
         "reamp_eq": (EQ_TRIMMED, LATENCY, True), "reamp_drive": (DRIVE, LATENCY, True),
         "reamp_drive_tone": (DRIVE_TONE, 0, True)}
"""name -> (effects, true latency in samples, recorded with the reamp signal)."""
REAMP_SECONDS = 90.0
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


def _delay(x: np.ndarray, d: int) -> np.ndarray:
    return np.concatenate([np.zeros(d, np.float32), x[:x.size - d]]) if d else x


def _in_step_esr(target: np.ndarray, output: np.ndarray, latency: int) -> float:
    """ESR of ``output`` delayed by ``latency`` samples against ``target`` (float64), sample for sample."""
    pred = _delay(np.asarray(output, np.float32).reshape(-1), latency)
    return float(np.sum((target - pred) ** 2) / np.sum(target ** 2))


def _table(results: dict, names: list[str]) -> list[str]:
    """The fxlab and NAM rows per case, readable."""
    def cell(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = [f"{'case':<20} {'fxlab ESR':>10} {'NAM ESR':>10}"]
    for n in names:
        lines.append(f"{n:<20} {cell(results.get(f'esr_{n}', '-')):>10} "
                     f"{cell(results.get(f'esr_{n}_nam', '-')):>10}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0 (2 when ``--compare nam`` cannot run)."""
    ap = argparse.ArgumentParser(prog="python -m fxlab.bench capture", description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="fxlab train --minutes for each pair")
    ap.add_argument("--work", default=None, help="folder for the pairs and models (default: temporary)")
    ap.add_argument("--only", nargs="+", default=None, choices=list(CASES), metavar="CASE",
                    help=f"cases to run: {' '.join(CASES)} (default all)")
    ap.add_argument("--compare", choices=("nam",), default=None,
                    help="also train Neural Amp Modeler's own recipe on each pair, same budget "
                         "(the interop extra)")
    args = ap.parse_args(argv)
    if args.compare == "nam":
        from fxlab.bench.nam_compare import require
        from fxlab.errors import FxlabError

        try:
            require()  # fails now, not after the first training
        except FxlabError as e:
            print(e, file=sys.stderr)
            return 2

    import keras

    from fxlab.audio import write_wav
    from fxlab.capture.reamp import reamp_signal
    from fxlab.cli import main as fxlab_main
    from fxlab.errors import LatencyUncertainError
    from fxlab.training import load_trained

    print(f"machine: {platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
          f"keras {keras.__version__} ({keras.backend.backend()}), python {platform.python_version()}")
    work = Path(args.work or tempfile.mkdtemp(prefix="fxlab-bench-capture-"))
    work.mkdir(parents=True, exist_ok=True)
    music, test_dry = make_material()
    reamp, _ = reamp_signal(seconds=REAMP_SECONDS, sr=SR)
    print(f"arbitrary pairs of {music.size / SR:.1f} s from {', '.join(TRAIN_RECORDINGS)}; the reamp "
          f"signal {reamp.size / SR:.0f} s; unseen test material {test_dry.size / SR:.1f} s from "
          f"{', '.join(TEST_RECORDINGS)}")
    write_wav(work / "dry.wav", music, SR, subtype="FLOAT")
    write_wav(work / "reamp.wav", reamp, SR, subtype="PCM_24")
    results: dict[str, float | int | str] = {}
    errors: dict[str, int] = {}
    t_all = time.perf_counter()
    for name, (specs, latency, with_reamp) in CASES.items():
        if args.only and name not in args.only:
            continue
        dry_file = work / ("reamp.wav" if with_reamp else "dry.wav")
        wet = _delay(_chain(specs, reamp if with_reamp else music), latency)
        write_wav(work / f"wet_{name}.wav", wet, SR, subtype="FLOAT")
        out = work / "models" / name
        t0 = time.perf_counter()
        try:
            fxlab_main_args = ["train", "--dry", str(dry_file), "--wet", str(work / f"wet_{name}.wav"),
                               "--out", str(out), "--minutes", f"{args.minutes:g}"]
            from fxlab.capture.pairs import load_pair

            load_pair(dry_file, work / f"wet_{name}.wav")  # what fxlab train does first
        except LatencyUncertainError as e:
            results[f"esr_{name}"] = results[f"latency_{name}"] = "asked"
            if args.compare:
                results[f"esr_{name}_nam"] = "asked"
            print(f"{name}: latency asked for, not applied ({str(e).split('; expected')[0]})")
            continue
        fxlab_main(fxlab_main_args)
        wall = time.perf_counter() - t0
        found = json.loads((out / "pair.json").read_text())["latency_samples"]
        errors[name] = found - latency
        tm = load_trained(out)
        target = _delay(_chain(specs, test_dry), latency).astype(np.float64)
        esr = _in_step_esr(target, tm.predict(test_dry), found)
        grade = json.loads((out / "grade.json").read_text())
        results[f"esr_{name}"] = esr
        results[f"heldout_esr_{name}"] = grade["esr"]
        results[f"latency_{name}"] = int(found)
        results[f"falls_silent_{name}"] = int(grade.get("silence", {}).get("falls_silent", True))
        print(f"{name}: latency found {found} (true {latency}); ESR in step on unseen material "
              f"{esr:.3g}; held-out {grade['esr']:.3g} ({grade['words'].split(':')[0]}); "
              f"{'falls silent' if results[f'falls_silent_{name}'] else 'does NOT fall silent'}; {wall:.0f} s, "
              f"{tm.summary['epochs_run']} epochs ({tm.summary['stopped']})")
        if args.compare == "nam":
            _nam_row(results, name, out, reamp if with_reamp else music, wet, found, target,
                     test_dry, minutes=args.minutes, work=work, fxlab_esr=esr)
    _summarise(results, errors, minutes=args.minutes, wall_s=time.perf_counter() - t_all,
               table=bool(args.compare))
    return 0


def _nam_row(results: dict, name: str, out: Path, dry_all: np.ndarray, wet: np.ndarray, found: int,
             target: np.ndarray, test_dry: np.ndarray, *, minutes: float, work: Path,
             fxlab_esr: float) -> None:
    """``--compare nam``: NAM's own recipe on the pair fxlab trained on (the recording and the
    latency fxlab's capture found; pair.json's splits are in the aligned pair), the same budget,
    scored in step on the same unseen material; its keys into ``results``."""
    from fxlab.bench.nam_compare import train_nam

    info = json.loads((out / "pair.json").read_text())
    split = {k: (dry_all[lo:hi + found], wet[lo:hi + found]) for k, (lo, hi) in info["splits"].items()}
    run = train_nam(split["train"], split["val"], minutes=minutes, sr=SR, latency=int(found),
                    work=work / "nam" / name)
    results[f"esr_{name}_nam"] = _in_step_esr(target, run.predict(test_dry), found)
    results[f"nam_epochs_{name}"] = run.summary["epochs"]
    results[f"nam_wall_s_{name}"] = run.summary["wall_s"]
    print(f"{name}: NAM {run.summary['submodel']} ESR in step on unseen material "
          f"{results[f'esr_{name}_nam']:.3g} (fxlab {fxlab_esr:.3g}); {run.summary['wall_s']:.0f} s, "
          f"{run.summary['epochs']} epochs, {run.summary['steps']} updates")


def _summarise(results: dict, errors: dict[str, int], *, minutes: float, wall_s: float,
               table: bool) -> None:
    """The worst latency errors, then (with ``--compare``) the two-column table, then the last
    line of ``key=value`` pairs."""
    def worst(keys):
        errs = [errors[k] for k in keys if k in errors]
        return max(errs, key=abs) if errs else 0

    results["latency_error_samples"] = int(worst(errors))
    results["latency_error_reamp"] = int(worst([k for k in errors if k.startswith("reamp_")]))
    results["minutes"] = minutes
    results["wall_s"] = wall_s
    order = [f"esr_{k}" for k in CASES if f"esr_{k}" in results]
    order += [f"esr_{k}_nam" for k in CASES if f"esr_{k}_nam" in results]
    order += ["latency_error_samples", "latency_error_reamp"]
    order += [k for k in results if k not in order]
    if table:
        for line in _table(results, [k for k in CASES if f"esr_{k}" in results]):
            print(line)
    print(" ".join(f"{k}={results[k]:.4g}" if isinstance(results[k], float) else f"{k}={results[k]}"
                   for k in order))
