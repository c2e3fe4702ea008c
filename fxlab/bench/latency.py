"""``python -m fxlab.bench latency``: the recommended model's real-time factor at 64-sample blocks.

On one CPU core (:func:`fxlab.latency.pin_one_core`, before TensorFlow starts), it streams seeded
white noise through the recommended sample-level model (:data:`fxlab.latency.RECOMMENDED_MODEL`, a
one-layer LSTM-32) in 64-sample blocks (1.45 ms at 44.1 kHz) with its default engine, and times
each block after a warm-up: median and 99th percentile, real-time factor (target <= 0.05, goal
0.02). The model comes from ``--run-dir``'s ``models/lstm`` when given, else it is freshly built
with the recommended configuration: the time per block does not depend on the weights' values
(the same operations run whatever they are).

``--model`` times another sample-level model the same way, ``--model-params`` sizes a freshly
built one: ``--model graybox`` (the gray-box emulator: a 6-section EQ; ``--model-params shaper=8``
its Wiener--Hammerstein form; engine ``numba``, its only one), ``--model tcn``, ``--model gru
--model-params units=64``.

For a recurrent model and the gray-box emulator, its knob-conditioned twin (the same size, built
with one knob input, the drive's ``gain_db``) is timed the same way twice: the knob at rest, and
the knob moved to a new seeded value before every block (``set_knobs`` inside the timed call, then
the 10 ms glide the model is fed): what conditioning, and turning a knob, cost a plugin's block.

Then the thesis's LSTM (384 units, 1024-sample window, section 4.1.1), freshly built, one forward
pass per output sample at batch 1, as the thesis measured its 0.8 ms per sample.

The last line printed is ``key=value`` pairs::

    model=lstm model_params=- engine=numba rtf_64=0.03 p99_ms_64=0.05 rtf_64_knob_fixed=0.03
    rtf_64_knob_moved=0.03 paper_lstm_ms_per_sample=12.3 ...

Functions
---------
- :func:`main`   command-line entry (``argv`` without the program name); returns 0
"""

from __future__ import annotations

import argparse

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fxlab.bench latency", description=__doc__.split("\n")[0])
    p.add_argument("--run-dir", default=None,
                   help="run folder whose models/<model> to time (default: a freshly built model)")
    p.add_argument("--model", default=None,
                   help="sample-level model name (default: lstm; also gru, tcn, graybox)")
    p.add_argument("--model-params", default="",
                   help="sizes of a freshly built model, NAME=INT comma-separated "
                        "(e.g. units=64 for lstm; shaper=8,sections=6 for graybox)")
    p.add_argument("--engine", default="auto", help="engine (default: auto = the fastest exact)")
    p.add_argument("--blocks", type=int, default=5000, help="64-sample blocks timed (default 5000)")
    p.add_argument("--paper-passes", type=int, default=30,
                   help="forward passes of the thesis LSTM timed (default 30; 0 skips it)")
    p.add_argument("--compare", action="store_true", help="also time every other engine at 64")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print its figures, the last line as ``key=value`` pairs."""
    args = _parser().parse_args(argv)
    from fxlab import latency

    cond = latency.pin_one_core()  # before anything runs TensorFlow
    from pathlib import Path

    import numpy as np

    from fxlab import runtime
    from fxlab.errors import EngineUnavailableError, ParameterError
    from fxlab.models import build_model, keras_of, model_config

    info = latency.machine_info()
    print(f"machine: {info['machine']['cpu']} ({info['machine']['cores']} cores), pinned to core(s) "
          f"{cond['cpu_affinity']}, TF threads pinned: {cond['tf_threads_pinned']}, "
          f"load average {info['load_average']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    name = args.model or latency.RECOMMENDED_MODEL
    if args.blocks < 1 or args.paper_passes < 0:
        raise ParameterError(f"--blocks={args.blocks}, --paper-passes={args.paper_passes}: "
                             "found a value below range; expected --blocks >= 1, --paper-passes >= 0. "
                             "Fix: pass positive counts")
    if args.run_dir:
        from fxlab.training import load_trained

        model = load_trained(Path(args.run_dir) / "models" / name)
        source = f"trained, {Path(args.run_dir) / 'models' / name}"
    else:
        params = _model_params(args.model_params)
        model = build_model(name, seed=0, **params)
        source = (f"freshly built {model_config(name, **params)} (time per block does not depend "
                  "on the weights' values)")
    proc = runtime.make_processor(model, engine=args.engine)
    print(f"model {name}: {source}; {keras_of(model).count_params()} parameters; "
          f"engine {proc.engine_name}")
    e = latency.time_blocks(proc, block_size=64, n_blocks=args.blocks, warmup=50, seconds=120.0)
    verdict = "met" if e["rtf"] <= 0.05 else "NOT met"
    print(f"64-sample blocks ({e['latency_ms']:.3f} ms), {e['n_blocks']} blocks: median "
          f"{e['median_ms'] * 1e3:.1f} us, p99 {e['p99_ms'] * 1e3:.1f} us, RTF {e['rtf']:.4f} "
          f"(p99 {e['rtf_p99']:.4f}); target <= 0.05 {verdict}, goal 0.02 "
          f"{'met' if e['rtf'] <= 0.02 else 'not met'}; {e['ms_per_sample'] * 1e3:.3f} us/sample")
    knob_keys = _time_twin(model, name, proc, engine=args.engine, blocks=args.blocks)
    x30 = (0.25 * np.random.default_rng(0).standard_normal(30 * 44100)).astype(np.float32)
    # the offline path: TrainedModel.predict (a trained model) or runtime.render (a built one)
    offline = model.predict if hasattr(model, "processor") else (lambda x: runtime.render(model, x))
    what = "TrainedModel.predict" if hasattr(model, "processor") else "runtime.render"
    cold = _timed(lambda: offline(x30))  # the first call makes the processor (packs the weights)
    warm = min(_timed(lambda: offline(x30)) for _ in range(3))
    print(f"offline, {what} of 30 s: {cold:.3f} s on the first call, {warm:.3f} s after "
          f"(RTF {warm / 30:.4f}); target < 1 s")
    if args.compare:
        others = latency.KIND_ENGINES[proc.kind]
        for other in others:
            if other == proc.engine_name:
                continue
            try:
                p2 = runtime.make_processor(model, engine=other)
            except EngineUnavailableError as exc:
                print(f"  {other}: unavailable ({exc})")
                continue
            e2 = latency.time_blocks(p2, block_size=64, n_blocks=min(args.blocks, 1000), warmup=20,
                                     seconds=20.0)
            print(f"  {other:>11s}: median {e2['median_ms'] * 1e3:9.1f} us  p99 "
                  f"{e2['p99_ms'] * 1e3:9.1f} us  RTF {e2['rtf']:.4f}")
    paper_ms = float("nan")
    if args.paper_passes:
        paper = build_model("thesis_lstm", seed=0)
        pproc = runtime.make_processor(paper)
        pe = latency.time_blocks(pproc, block_size=1, n_blocks=args.paper_passes, warmup=3,
                                 seconds=60.0, min_blocks=3)
        paper_ms = pe["median_ms"]
        print(f"thesis LSTM-384/1024 (freshly built), one forward pass per output sample at batch 1, "
              f"{pe['n_blocks']} passes: median {paper_ms:.2f} ms, p99 {pe['p99_ms']:.2f} ms per "
              f"sample = RTF {paper_ms * 1e-3 * 44100:.0f} (thesis: {latency.THESIS_MS_PER_SAMPLE} ms, "
              f"RTF {latency.THESIS_RTF:.1f})")
    sizes = (args.model_params.replace("=", ":").replace(",", ";")
             if args.model_params and not args.run_dir else "-")
    print(f"model={name} model_params={sizes} engine={proc.engine_name} rtf_64={e['rtf']:.4f} "
          f"p99_ms_64={e['p99_ms']:.4f} median_ms_64={e['median_ms']:.4f} "
          f"us_per_sample_64={e['ms_per_sample'] * 1e3:.4f}{knob_keys} "
          f"paper_lstm_ms_per_sample={paper_ms:.3f} blocks={e['n_blocks']} "
          f"predict_30s_s={cold:.3f} cores=1")
    return 0


def _timed(fn) -> float:
    import time

    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _time_twin(model, name: str, proc, *, engine: str, blocks: int) -> str:
    """Time the knob-conditioned twin (LSTM/GRU, gray-box emulator) at rest and with its knob
    moved every block; print both and return their ``key=value`` pairs (``""`` for other kinds)."""
    from fxlab import latency, runtime
    from fxlab.effects import get_effect

    if proc.kind not in ("rnn", "graybox"):
        return ""
    twin = _conditioned_twin(model, name)
    cproc = runtime.make_processor(twin, engine=engine, knobs=[get_effect("drive").knob("gain_db")])
    ce = {}
    for move in (False, True):
        ce[move] = latency.time_blocks(cproc, block_size=64, n_blocks=blocks, warmup=50,
                                       seconds=120.0, move_knobs=move)
        print(f"conditioned twin (knob gain_db), knob {ce[move]['knobs']}: median "
              f"{ce[move]['median_ms'] * 1e3:.1f} us, p99 {ce[move]['p99_ms'] * 1e3:.1f} us, "
              f"RTF {ce[move]['rtf']:.4f}; {ce[move]['ms_per_sample'] * 1e3:.3f} us/sample")
    return (f" rtf_64_knob_fixed={ce[False]['rtf']:.4f} rtf_64_knob_moved={ce[True]['rtf']:.4f}"
            f" us_per_sample_64_knob_fixed={ce[False]['ms_per_sample'] * 1e3:.4f}"
            f" us_per_sample_64_knob_moved={ce[True]['ms_per_sample'] * 1e3:.4f}")


def _model_params(text: str) -> dict[str, int]:
    """``"units=64,layers=2"`` -> ``{"units": 64, "layers": 2}`` (checked by ``model_config``)."""
    from fxlab.errors import ParameterError, problem

    out = {}
    for item in (t.strip() for t in text.split(",") if t.strip()):
        key, _, value = item.partition("=")
        try:
            out[key.strip()] = int(value)
        except ValueError:
            raise ParameterError(problem(
                f"--model-params {text!r}", found=repr(item), expected="NAME=INTEGER pairs",
                fix="write e.g. --model-params shaper=8,sections=6")) from None
    return out


def _conditioned_twin(model, name: str):
    """A freshly built model of ``model``'s size with one knob input (seed 0): the same units and
    layers (LSTM/GRU), the same sections and curve (gray-box emulator)."""
    from fxlab.models import build_model, config_of

    cfg = config_of(model)
    sizes = ("units", "layers") if "units" in cfg else ("sections", "shaper")
    return build_model(name, seed=0, knobs=1, **{k: int(cfg[k]) for k in sizes if k in cfg})
