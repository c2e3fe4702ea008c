"""``python -m fxlab.bench aliasing [--work DIR] [--model NAME]``: what a drive's capture adds.

The conditioned model of ``python -m fxlab.bench pedal`` (found in ``--work``, default
``reports/bench/pedal``; trained there first with ``--minutes`` when missing) and the drive it
emulates, measured alike (:mod:`fxlab.aliasing`): 20 tones from 50 Hz to 8 kHz at -24, -12, -6 and
0 dBFS, at every evaluation gain (the five trained on, the two held out, the midpoints). Per
setting it prints the model's worst aliasing-to-signal ratio and 2nd harmonic beside the
effect's, then ESR on real material per setting (:func:`fxlab.evaluate.knobs.score_over_knobs`)
and the model streamed at 64-sample blocks on one core. The last line is ``key=value`` pairs::

    model=... asr_excess_db=... h2_excess_db=... asr_worst_db_model=... asr_worst_db_effect=...
    esr_unseen_max=... esr_seen_max=... rtf_64=... cores=...

``asr_excess_db``: the largest, over the tones at 0 dBFS and the gains, of the model's aliasing
minus the larger of the effect's own and -80 dB; ``h2_excess_db`` the same for the 2nd harmonic.
Targets (issue 25): both <= 6 dB; ``esr_*_max`` <= 0.01; ``rtf_64`` <= 0.1 on one core.

- :func:`main`
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

__all__ = ["main"]


class _Oversampled:
    """A model trained at ``factor`` times the rate, run between :class:`fxlab.runtime.oversample.Oversampler`'s filters."""

    def __init__(self, trained, factor: int):
        self.trained, self.factor = trained, factor
        self.name, self.knobs = trained.name, trained.knobs

    def predict(self, x, *, knobs=None):
        from fxlab.runtime.oversample import run_oversampled

        return run_oversampled(lambda u: self.trained.predict(u, knobs=knobs), x, self.factor)


def _resampler_rtf(factor: int, sr: int, blocks: int = 2000) -> float:
    """Real-time factor of the up- and down-sampling alone at 64-sample blocks."""
    import numpy as np

    from fxlab.runtime.oversample import Oversampler

    o = Oversampler(factor)
    x = np.random.default_rng(0).standard_normal(64).astype(np.float32) * 0.1
    t0 = time.perf_counter()
    for _ in range(blocks):
        o.down(o.up(x))
    return (time.perf_counter() - t0) / blocks / (64 / sr)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns its status (0)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python -m fxlab.bench aliasing", description=__doc__.split("\n")[0])
    ap.add_argument("--work", default="reports/bench/pedal", help="the pedal benchmark's folder")
    ap.add_argument("--model", default="lstm", help="model folder under WORK/models")
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget when the model is missing")
    ap.add_argument("--levels", default="-24,-12,-6,0", help="sine peaks, dBFS")
    ap.add_argument("--blocks", type=int, default=3000, help="64-sample blocks timed for rtf_64")
    args = ap.parse_args(argv)
    work = Path(args.work)
    if not (work / "models" / args.model / "model.keras").exists():
        from fxlab.bench import pedal

        print(f"no model in {work / 'models' / args.model}: training it (python -m fxlab.bench pedal "
              f"--minutes {args.minutes:g} --work {work})")
        pedal.main(["--minutes", str(args.minutes), "--work", str(work), "--verbose", "0"])

    from fxlab import latency
    from fxlab.aliasing import excess, measure_aliasing
    from fxlab.bench.pedal import profile_configs
    from fxlab.datasets import build_study_data
    from fxlab.evaluate.knobs import evaluation_settings, score_over_knobs
    from fxlab.training import load_trained

    levels = [float(v) for v in args.levels.split(",")]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    data_config, _ = profile_configs(work, minutes=args.minutes)
    ds = build_study_data(data_config, log=lambda m: None)
    trained = load_trained(work / "models" / args.model)
    factor = trained.sr // ds.sr
    model = _Oversampled(trained, factor) if factor > 1 else trained
    settings = evaluation_settings(ds.conditioning)
    print(f"model {trained.path} ({trained.name}, {trained.param_count} parameters, trained at {trained.sr} Hz"
          f"{f', run {factor}x oversampled' if factor > 1 else ''}"
          f"{', odd' if trained.config['model'].get('odd') else ''}); effect "
          f"{ds.effect.describe()}; {len(settings)} settings, levels {levels} dBFS, 20 tones 50 Hz-8 kHz")
    worst: dict[str, float] = {}
    t0 = time.perf_counter()
    for e in settings:
        setting = e["setting"]
        fx = ds.effect.with_knobs(**setting)
        target = measure_aliasing(lambda x, fx=fx: fx(x, ds.sr), sr=ds.sr, levels_dbfs=levels)
        got = measure_aliasing(lambda x, s=dict(setting): model.predict(x, knobs=s), sr=ds.sr, levels_dbfs=levels)
        ex = excess(target, got, level_dbfs=0.0)
        label = ", ".join(f"{k}={v:g}" for k, v in setting.items())
        print(f"  {label:>14s} {'seen  ' if e['seen'] else 'UNSEEN'} at 0 dBFS: ASR worst model "
              f"{ex['asr_worst_db_model']:.1f} dB / effect {ex['asr_worst_db_effect']:.1f} dB, excess "
              f"{ex['asr_excess_db']:+.1f} dB at {ex['asr_excess_hz']:.0f} Hz; H2 excess "
              f"{ex['h2_excess_db']:+.1f} dB at {ex['h2_excess_hz']:.0f} Hz")
        for key, value in ex.items():
            if not key.endswith("_hz"):
                worst[key] = max(worst.get(key, -1e9), value)
    print(f"measured in {time.perf_counter() - t0:.0f} s")
    scores = score_over_knobs([model], ds.effect, ds.conditioning, sr=ds.sr, settings=settings)
    summary = scores["summary"][trained.name]
    for r in scores["models"][trained.name]:
        print(f"  {r['setting']} {'seen' if r['seen'] else 'UNSEEN'} ESR {r['esr']:.4g}")
    pin = latency.pin_one_core()
    proc = trained.processor()
    proc.set_knobs(**settings[len(settings) // 2]["setting"])
    # 64 samples at the base rate are 64 x factor at the model's: the same real time
    t = latency.time_blocks(proc, block_size=64 * factor, n_blocks=args.blocks, warmup=50, seconds=60.0)
    if factor > 1:
        t["rtf"] += _resampler_rtf(factor, ds.sr)
    print(f"streaming ({proc.engine_name}, core {pin['cpu_affinity']}): RTF {t['rtf']:.4f} at 64-sample blocks"
          + (f" (the model at {64 * factor}-sample blocks of its rate, plus the resampling)" if factor > 1 else ""))
    print(f"model={args.model} " + " ".join(f"{k}={v:.1f}" for k, v in worst.items())
          + f" esr_unseen_max={summary['esr_unseen_max']:.4g} esr_seen_max={summary['esr_seen_max']:.4g}"
          f" rtf_64={t['rtf']:.4f} cores={cores}")
    return 0
