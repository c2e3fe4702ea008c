"""``python -m fxlab.bench gear [--minutes N]``: the pedal benchmark on real plugins, judged at unseen knob settings.

Every nonlinear result of :mod:`fxlab.bench.pedal` is on fxlab's own drive. This benchmark runs
the same measurement on other people's DSP, LV2 plugins hosted through lilv
(:mod:`fxlab.effects.lv2`), one case per ``gear`` profile:

- ``ts9``: guitarix's Tube Screamer simulation conditioned on its Drive knob (profile ``gear``);
- ``compressor``: guitarix's compressor conditioned on its threshold (profile ``gear-compressor``;
  an envelope with 5 ms attack and 50 ms release: the output depends on the signal's past).

For each case: the profile's data (the thesis's synthetic material through the plugin at five
knob values, validation at two never trained on), its conditioned network (``--model``, default
the LSTM-32) trained from scratch for at most ``--minutes``, scored on the shipped instrument
recordings and the speech through the plugin at every setting of the evaluation grid (seen,
held out, between grid values), then streamed at 64-sample blocks on one core. The options are
:mod:`fxlab.bench.pedal`'s; the last line is ``key=value`` pairs::

    esr_unseen_max_ts9=... esr_unseen_mean_ts9=... esr_seen_max_ts9=... rtf64_ts9=... wall_s_ts9=...
    esr_unseen_max_compressor=... ... minutes=... backend=... cores=2

Targets (issue 26): ``esr_unseen_max`` <= 0.01 for the overdrive and <= 0.02 for the compressor.
Needs lilv's tools and guitarix's plugins (``apt-get install lilv-utils guitarix-lv2``); without
them it stops with an error that says so.

- :data:`CASES` the case names and their profiles
- :func:`main`
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from fxlab.bench.backend import run_on_backend

__all__ = ["CASES", "main"]

#: Case name -> (profile, target for the worst unseen-setting ESR).
CASES = {"ts9": ("gear", 0.01), "compressor": ("gear-compressor", 0.02)}


def _check_plugins(names: list[str]) -> None:
    """Raise before any training when lilv's tools or a case's plugin are missing."""
    from fxlab import pipeline
    from fxlab.effects import get_effect

    for name in names:
        step = dict(pipeline.plan(CASES[name][0], steps=["01"]))["01_synthesize_data"]
        get_effect(step["effect"], **step["effect_params"])  # names what to install if absent


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns its status (0)."""
    from fxlab.bench import pedal

    argv = list(sys.argv[1:] if argv is None else argv)
    ap = pedal.parser("python -m fxlab.bench gear", __doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(CASES), default=None, metavar="CASE",
                    help=f"cases to run: {' '.join(CASES)} (default all)")
    args = ap.parse_args(argv)
    rerun = run_on_backend("gear", argv, args.backend)
    if rerun is not None:  # the backend is fixed when Keras is first imported
        return rerun
    names = args.only or list(CASES)
    _check_plugins(names)
    results = {}
    with tempfile.TemporaryDirectory(prefix="fxlab-bench-gear-") as tmp:
        for name in names:
            profile, _ = CASES[name]
            print(f"== {name}: profile {profile}")
            results[name] = pedal.run_profile(profile, args, Path(args.work or tmp) / name)
    print("\ncase        worst unseen ESR  target  mean unseen  worst seen  RTF at 64  epochs  wall s")
    for name, r in results.items():
        target = CASES[name][1]
        met = "met" if r["esr_unseen_max"] <= target else "NOT met"
        print(f"{name:<11s} {r['esr_unseen_max']:>16.4g}  {target:<6g}  {r['esr_unseen_mean']:>11.4g}  "
              f"{r['esr_seen_max']:>10.4g}  {r['rtf_64']:>9.4f}  {r['epochs']:>6d}  {r['wall_s']:>6.0f}"
              f"  ({met})")
    pairs = []
    for name, r in results.items():
        pairs += [f"esr_unseen_max_{name}={r['esr_unseen_max']:.4g}",
                  f"esr_unseen_mean_{name}={r['esr_unseen_mean']:.4g}",
                  f"esr_seen_max_{name}={r['esr_seen_max']:.4g}", f"rtf64_{name}={r['rtf_64']:.4f}",
                  f"epochs_{name}={r['epochs']}", f"wall_s_{name}={r['wall_s']:.1f}"]
    last = next(iter(results.values()))
    print(" ".join([*pairs, f"model={last['model']}", f"minutes={args.minutes:g}",
                    f"backend={last['backend']}", f"cores={last['cores']}"]))
    return 0
