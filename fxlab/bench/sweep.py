"""``python -m fxlab.bench sweep [--workers 2] [--steps 01 02 03]``: a sweep on Dask against the same
points run one after another.

The sweep: the ``tiny`` profile over ``sample_units`` in {4, 8} and ``seed`` in {0, 1} (4 points).
First it runs with :func:`fxlab.sweep.run_sweep` on a LocalCluster of ``--workers`` worker processes
(one thread each, as ``fxlab sweep`` does), then the same points with :func:`fxlab.pipeline.run`
one after another in this process, as a user would with ``fxlab run`` -- each in a fresh reports
folder, so both build their data sets. The comparison notebook is not run (it is the same work for
both). The last line is ``key=value`` pairs::

    ratio=... parallel_s=... sequential_s=... points=4 workers=2 steps=01,02,03 cpus=... load_1m=...

``ratio`` is parallel over sequential wall time (lower is better; 1/workers is the ideal). Timings
depend on the machine and its load (``load_1m``, the load average when the benchmark started); the
benchmark prints them, it does not judge them. ``--steps`` defaults to the steps a sweep compares
(data, training, evaluation); ``--steps all`` runs the whole tiny profile.

- :func:`main`  the command
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import yaml

__all__ = ["main"]

GRID = {"sample_units": [4, 8], "seed": [0, 1]}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 0, or 1 when a point failed (then no timing is printed)."""
    from fxlab import pipeline
    from fxlab.sweep import load_spec, run_sweep

    ap = argparse.ArgumentParser(prog="python -m fxlab.bench sweep", description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster")
    ap.add_argument("--steps", nargs="+", default=["01", "02", "03"], help="steps of each point, or 'all'")
    ap.add_argument("--work", help="folder for the runs (default: a new temporary folder)")
    args = ap.parse_args(argv)
    steps = None if args.steps == ["all"] else args.steps
    work = Path(args.work or tempfile.mkdtemp(prefix="fxlab-bench-sweep-"))
    work.mkdir(parents=True, exist_ok=True)
    spec_path = work / "bench-sweep.yaml"
    doc = {"description": "python -m fxlab.bench sweep", "profile": "tiny", "grid": GRID}
    if steps:
        doc["steps"] = steps
    spec_path.write_text(yaml.safe_dump(doc, sort_keys=False))
    spec = load_spec(spec_path)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{len(spec.points)} points of the tiny profile (steps {', '.join(spec.steps)}); work folder {work}")

    t0 = time.perf_counter()
    result = run_sweep(spec, reports_dir=work / "parallel", workers=args.workers, compare=False,
                       log=lambda m: None)
    parallel_s = time.perf_counter() - t0
    print(f"on {args.workers} workers: {parallel_s:.1f} s")
    if not result.ok:
        print(f"points failed: {', '.join(result.failed)}")
        return 1

    t0 = time.perf_counter()
    for p in spec.points:
        run = pipeline.run(spec.profile, steps=spec.steps, run_id=p.name, overrides=p.overrides,
                           reports_dir=work / "sequential", log=lambda m: None, link_latest=False)
        if not run.ok:
            print(f"point {p.name} failed: {run.failed_step.error}")
            return 1
    sequential_s = time.perf_counter() - t0
    print(f"one after another: {sequential_s:.1f} s")
    short = ",".join(s.split("_")[0] for s in spec.steps)
    print(f"ratio={parallel_s / sequential_s:.3f} parallel_s={parallel_s:.1f} sequential_s={sequential_s:.1f} "
          f"points={len(spec.points)} workers={args.workers} steps={short} cpus={os.cpu_count()} "
          f"load_1m={load:.2f}")
    return 0
