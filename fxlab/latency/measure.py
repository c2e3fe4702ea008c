"""Measuring: one core pinned, blocks timed per model x engine x block size, ``latency.json``."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from fxlab import models as fx_models
from fxlab import progress
from fxlab.audio import STUDY_SR
from fxlab.errors import EngineUnavailableError, ParameterError, problem, unknown_name
from fxlab.latency.config import (
    BLOCK_SIZES,
    BOUNDS_MS,
    KIND_ENGINES,
    RECOMMENDED_MODEL,
    THESIS_MS_PER_SAMPLE,
    THESIS_RTF,
    LatencyConfig,
    engine_list,
    kind_of,
)
from fxlab.runtime import Processor, check_block_size, make_processor
from fxlab.util import write_json

__all__ = ["KNOBS_FIXED", "KNOBS_MOVED", "demo_knob_sweep", "live_answer", "load_models", "machine_info", "measure_model", "measure_run",
           "pick_demo_model", "pin_one_core", "time_blocks"]

_CONDITIONS: dict = {}

#: A measurement's ``knobs`` for a knob-conditioned network: its knobs at rest at their defaults.
KNOBS_FIXED = "fixed"
#: ... or every knob moved to a new value before every block (``set_knobs`` in the timed call).
KNOBS_MOVED = "moved every block"


def pin_one_core(cpu: int | None = None) -> dict:
    """Run everything in this process on one CPU core, one thread per library.

    Call it before TensorFlow runs anything (before loading models); calling it again is harmless.

    Parameters
    ----------
    cpu : int, optional
        The core to pin to; default the first core this process may use.

    Returns
    -------
    conditions : dict
        ``cpu_affinity`` (list of cores), ``tf_threads_pinned`` (bool), ``tf_note``,
        ``numba_threads``, ``env`` (the thread variables set).
    """
    env = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    os.environ.update(env)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up lines out of the report
    affinity = None
    if hasattr(os, "sched_setaffinity"):
        allowed = sorted(os.sched_getaffinity(0))
        target = allowed[0] if cpu is None else int(cpu)
        if target not in allowed:
            raise ParameterError(problem(
                f"cpu={cpu!r}", found=f"a core this process may not use (allowed {allowed})",
                expected="one of the allowed cores", fix=f"pass cpu={allowed[0]} or leave it out",
            ))
        os.sched_setaffinity(0, {target})
        affinity = sorted(os.sched_getaffinity(0))
    import numba

    numba.set_num_threads(1)
    tf_pinned, tf_note = False, ""
    try:
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            try:
                tf.config.threading.set_intra_op_parallelism_threads(1)
                tf.config.threading.set_inter_op_parallelism_threads(1)
            except RuntimeError as exc:
                tf_note = f"TensorFlow was already initialised: {exc}"
            tf_pinned = (tf.config.threading.get_intra_op_parallelism_threads() == 1
                         and tf.config.threading.get_inter_op_parallelism_threads() == 1)
        else:
            tf_note = f"Keras backend {keras.backend.backend()!r}: no TensorFlow threads to pin"
    except ImportError as exc:  # pragma: no cover - TensorFlow is a dependency
        tf_note = str(exc)
    _CONDITIONS.update({
        "cpu_affinity": affinity, "tf_threads_pinned": tf_pinned, "tf_note": tf_note,
        "numba_threads": int(numba.get_num_threads()), "env": env,
    })
    return dict(_CONDITIONS)


def machine_info() -> dict:
    """The machine and library versions timings were taken with.

    Returns
    -------
    info : dict
        ``machine`` (cpu model, cores, platform) and ``versions`` (python, numpy, numba,
        tensorflow, keras, fxlab), plus the 1/5/15-minute ``load_average`` (a busy machine
        inflates timings).
    """
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("numba", "tensorflow", "keras", "fxlab"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # a missing library is recorded, not fatal
            versions[mod] = None
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "machine": {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform()},
        "versions": versions,
        "load_average": load,
    }


def _knob_moves(processor: Processor, count: int, seed: int) -> list[dict[str, float]]:
    """``count`` seeded settings of every knob of ``processor``, uniform on each knob's scale."""
    rng = np.random.default_rng([seed, 7])
    u = rng.uniform(0.0, 1.0, (count, len(processor.knobs)))
    values = [k.denormalise(u[:, j]) for j, k in enumerate(processor.knobs)]
    return [{k.name: min(max(float(v[i]), k.low), k.high) for k, v in zip(processor.knobs, values,
                                                                           strict=True)}
            for i in range(count)]


def time_blocks(processor: Processor, *, block_size: int, n_blocks: int = 1000,
                warmup: int = 20, seconds: float = 5.0, min_blocks: int = 5, seed: int = 0,
                move_knobs: bool = False) -> dict:
    """Time ``processor.process`` on consecutive blocks of seeded white noise.

    Parameters
    ----------
    processor : fxlab.runtime.Processor
        Reset first; its state then runs on from block to block as in a plugin.
    block_size : int >= 1 [samples]
    n_blocks : int >= 1
        Blocks timed after the warm-up (the issue asks for >= 1000).
    warmup : int >= 0
        Blocks run first and not counted (compilation, caches).
    seconds : float > 0
        Time budget of the timed part: stop after it once ``min_blocks`` are timed.
    min_blocks : int >= 1
    seed : int
        Seed of the noise (amplitude 0.5) and of the knob moves.
    move_knobs : bool
        A knob-conditioned network only: before every block, ``processor.set_knobs(...)`` moves
        every knob to a new seeded value (uniform on its scale), inside the timed call, so the
        time includes the move and the glide the network is then fed (the worst case: a knob
        never at rest). False: the knobs stay at their defaults (at rest: no glide).

    Returns
    -------
    entry : dict
        ``block_size``, ``latency_ms``, ``n_blocks``, ``warmup``, ``median_ms``, ``p99_ms``,
        ``mean_ms``, ``rtf``, ``rtf_p99``, ``ms_per_sample``, ``note``, ``knobs``
        (:data:`KNOBS_FIXED`, :data:`KNOBS_MOVED`, or None for a network without knobs).
    """
    block_size = check_block_size(block_size)
    conditioned = bool(processor.knobs)
    if move_knobs and not conditioned:
        raise ParameterError(problem(
            f"move_knobs for {processor.kind} network {processor.name!r}", found="no knob inputs",
            expected="a knob-conditioned network (processor.knobs)", fix="pass move_knobs=False"))
    sr = processor.sr
    rng = np.random.default_rng(seed)
    span = int(min(max(block_size * 64, sr), 1 << 20))
    noise = (rng.uniform(-0.5, 0.5, span + block_size)).astype(np.float32)
    starts = rng.integers(0, span, size=n_blocks + warmup)
    moves = _knob_moves(processor, n_blocks + warmup, seed) if move_knobs else None
    processor.reset()
    for i in range(warmup):
        if moves:
            processor.set_knobs(**moves[i])
        processor.process(noise[starts[i] : starts[i] + block_size])
    times = []
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + seconds
    for i in range(warmup, warmup + n_blocks):
        block = noise[starts[i] : starts[i] + block_size]
        if moves:
            move = moves[i]
            t0 = clock()
            processor.set_knobs(**move)
            processor.process(block)
        else:
            t0 = clock()
            processor.process(block)
        times.append(clock() - t0)
        if len(times) >= min_blocks and time.perf_counter() > deadline:
            break
    t = np.asarray(times, np.float64) * 1e-6  # ms
    duration_ms = block_size / sr * 1e3
    median, p99 = float(np.median(t)), float(np.percentile(t, 99))
    note = "" if t.size >= n_blocks else f"{t.size} blocks timed (time budget {seconds:g} s)"
    return {
        "block_size": block_size, "latency_ms": duration_ms, "n_blocks": int(t.size),
        "warmup": int(warmup), "median_ms": median, "p99_ms": p99, "mean_ms": float(t.mean()),
        "rtf": median / duration_ms, "rtf_p99": p99 / duration_ms,
        "ms_per_sample": median / block_size, "note": note, "skipped": None,
        "knobs": (KNOBS_MOVED if move_knobs else KNOBS_FIXED) if conditioned else None,
    }


#: The engines that can run each kind of network, fastest first (the first available is the default).


def measure_model(name: str, model, *, engines="all", block_sizes=BLOCK_SIZES, sr: int = STUDY_SR,
                  n_blocks: int = 1000, seconds_per_config: float = 5.0,
                  max_block_seconds: float = 2.0, seed: int = 0, log=print) -> tuple[dict, list]:
    """Measure one model with each engine at each block size.

    Parameters
    ----------
    name : str
    model : TrainedModel or keras.Model
    engines : "all", str (comma-separated) or list of str
        Engines to try, of those that run the model's kind (:data:`KIND_ENGINES`; a name no
        engine of the kind has is left out, and none left means the kind's first).
    block_sizes : sequence of int [samples]
    sr : int [Hz]
    n_blocks, seconds_per_config : see :func:`time_blocks`
    max_block_seconds : float [s]
        Skip a block size when the next smaller one, scaled by the size ratio, predicts a block
        time above this (recorded with the reason).
    seed : int
    log : callable or None
        Progress lines.

    The gray-box emulator is timed as the networks are (its one engine ``numba``). A
    knob-conditioned model is timed with its knobs at rest (rows with ``knobs`` =
    :data:`KNOBS_FIXED`) on every engine, and again with every knob moved before every block
    (:data:`KNOBS_MOVED`, :func:`time_blocks` ``move_knobs``) on the first engine that runs it
    (the default one when ``engines="all"``).

    Returns
    -------
    (model_entry, measurements) : (dict, list of dict)
        See the module docstring for the layout.
    """
    kind = kind_of(model)
    wanted = engine_list(kind, engines)
    status: dict[str, str | None] = {}
    rows = []
    knobs: tuple = ()
    for eng in wanted:
        try:
            proc = make_processor(model, engine=eng, sr=sr)
        except EngineUnavailableError as exc:
            status[eng] = str(exc)
            if log:
                log(f"{name}: engine {eng} unavailable: {exc}")
            continue
        status[eng] = None
        first_engine = not knobs
        knobs = proc.knobs
        modes = [False, True] if knobs and first_engine else [False]
        for move in modes:
            rows.extend(_measure_engine(proc, name, eng, block_sizes, sr=sr, n_blocks=n_blocks,
                                        seconds=seconds_per_config, max_block_seconds=max_block_seconds,
                                        seed=seed, move_knobs=move, log=log))
    default = next((e for e in KIND_ENGINES[kind] if status.get(e, "x") is None), None)
    model_entry = {
        "kind": kind,
        "family": "windowed" if kind == "windowed" else "sample",
        "param_count": int(fx_models.keras_of(model).count_params()),
        "engines": status,
        "default_engine": default,
        "knobs": [k.name for k in knobs],
        "summary": _summary(rows, default, sr),
    }
    return model_entry, rows


def _measure_engine(proc: Processor, name: str, engine: str, block_sizes, *, sr: int, n_blocks: int,
                    seconds: float, max_block_seconds: float, seed: int, move_knobs: bool,
                    log) -> list[dict]:
    """One processor at every block size (one knob mode), the slow sizes skipped."""
    rows: list[dict] = []
    prev = None
    for bs in block_sizes:
        bs = check_block_size(bs)
        base = {"model": name, "engine": engine}
        if prev is not None and prev["median_ms"] * 1e-3 * bs / prev["block_size"] > max_block_seconds:
            est = prev["median_ms"] * 1e-3 * bs / prev["block_size"]
            rows.append({**base, "block_size": bs, "latency_ms": bs / sr * 1e3,
                         "knobs": (KNOBS_MOVED if move_knobs else KNOBS_FIXED) if proc.knobs else None,
                         "skipped": f"not measured: {prev['block_size']}-sample blocks predict "
                                    f"{est:.2f} s per block (> max_block_seconds={max_block_seconds:g})"})
            continue
        # one warm-up block first: a very slow config gets few warm-up blocks
        t0 = time.perf_counter()
        proc.reset()
        proc.process(np.zeros(bs, np.float32))
        first = time.perf_counter() - t0
        warm = 20 if first < 0.05 else 2
        entry = time_blocks(proc, block_size=bs, n_blocks=n_blocks, warmup=warm, seconds=seconds,
                            seed=seed, move_knobs=move_knobs)
        rows.append({**base, **entry})
        prev = entry
        if log:
            mode = f"  knobs {entry['knobs']}" if entry["knobs"] else ""
            log(f"{name:>20s} {engine:>11s} {bs:5d}: median {entry['median_ms']:9.4f} ms  "
                f"p99 {entry['p99_ms']:9.4f} ms  RTF {entry['rtf']:8.4f}  "
                f"({entry['n_blocks']} blocks){mode}")
    return rows


def live_answer(rows: list[dict], *, sr: int = STUDY_SR) -> dict:
    """The live question for one model's measurements (any engines).

    Returns
    -------
    answer : dict
        ``smallest_live_block`` (int or None): the smallest block size at which some engine's
        99th percentile stays under the block's duration; ``smallest_live_ms``; ``live_engine``;
        ``live_voice`` / ``live_guitar`` (bool): that block's duration is within 3 ms / 13 ms.
    """
    ok = [r for r in rows if not r.get("skipped") and r["p99_ms"] < r["latency_ms"]]
    if not ok:
        return {"smallest_live_block": None, "smallest_live_ms": None, "live_engine": None,
                "live_voice": False, "live_guitar": False}
    best = min(ok, key=lambda r: (r["block_size"], r["p99_ms"]))
    ms = best["block_size"] / sr * 1e3
    return {"smallest_live_block": best["block_size"], "smallest_live_ms": ms,
            "live_engine": best["engine"], "live_voice": ms <= BOUNDS_MS["voice"],
            "live_guitar": ms <= BOUNDS_MS["guitar"]}


def _summary(rows: list[dict], default: str | None, sr: int) -> dict:
    moved = [r for r in rows if r.get("knobs") == KNOBS_MOVED and not r.get("skipped")
             and r["block_size"] == 64]
    moved64 = next((r for r in moved if r["engine"] == default), moved[0] if moved else None)
    rows = [r for r in rows if r.get("knobs") != KNOBS_MOVED]
    measured = [r for r in rows if not r.get("skipped")]
    at64 = [r for r in measured if r["block_size"] == 64]
    d64 = next((r for r in at64 if r["engine"] == default), None)
    best64 = min(at64, key=lambda r: r["rtf"]) if at64 else None
    small = [r for r in measured if r["engine"] == default]
    smallest = min(small, key=lambda r: r["block_size"]) if small else None
    return {
        "engine": default,
        "rtf": d64["rtf"] if d64 else None,
        "p99_ms_64": d64["p99_ms"] if d64 else None,
        "ms_per_sample": smallest["ms_per_sample"] if smallest else None,
        "ms_per_sample_block": smallest["block_size"] if smallest else None,
        "best_engine_64": best64["engine"] if best64 else None,
        "best_rtf_64": best64["rtf"] if best64 else None,
        "rtf_moved_64": moved64["rtf"] if moved64 else None,
        "p99_ms_moved_64": moved64["p99_ms"] if moved64 else None,
        **live_answer(measured, sr=sr),
    }


def load_models(run_dir, names="all") -> dict:
    """Trained models of ``run_dir/models`` by name.

    Parameters
    ----------
    run_dir : str or Path
    names : "all", str (comma-separated) or list of str

    Returns
    -------
    models : dict of str -> fxlab.training.TrainedModel
    """
    from fxlab.training import load_trained

    root = Path(run_dir) / "models"
    present = sorted(p.name for p in root.iterdir() if (p / "model.keras").exists()) if root.is_dir() else []
    if not present:
        raise ParameterError(problem(
            str(root), found="no trained models", expected="model folders with model.keras",
            fix="run notebook 02_train (or `fxlab run --steps 02_train`) first"))
    wanted = present if names in ("all", None, "") else (
        [n.strip() for n in names.split(",") if n.strip()] if isinstance(names, str) else list(names))
    for n in wanted:
        if n not in present:
            raise unknown_name("trained model", n, present)
    return {n: load_trained(root / n) for n in wanted}


def measure_run(config: LatencyConfig, *, sr: int | None = None, loaded: dict | None = None,
                log=print) -> dict:
    """Measure every model of the run folder ``config.run_dir`` and write its ``latency.json``.

    Call :func:`pin_one_core` first (the record states whether it was). ``loaded`` may hold
    already loaded models (name -> model) instead of loading ``config.models`` from ``run_dir``.
    ``sr`` defaults to the data manifest's, else 44100 Hz.

    Returns
    -------
    result : dict
        What was written (layout in the module docstring).
    """
    run_dir = Path(config.run_dir)
    if sr is None:
        sr = STUDY_SR
        manifest = run_dir / "data" / "manifest.json"
        if manifest.exists():
            sr = int(json.loads(manifest.read_text()).get("sr", STUDY_SR))
    sizes = list(config.block_sizes)
    loaded = loaded if loaded is not None else load_models(run_dir, config.models)
    result = {
        "schema": 1, "sr": sr, "block_sizes": sizes, "settings": config.to_dict(),
        "conditions": {**(dict(_CONDITIONS) or {"cpu_affinity": None, "tf_threads_pinned": False,
                                                "tf_note": "pin_one_core() was not called"}),
                       **machine_info()},
        "thesis": {"ms_per_sample": THESIS_MS_PER_SAMPLE, "rtf": THESIS_RTF, "bounds_ms": BOUNDS_MS},
        "models": {}, "measurements": [],
    }
    for k, (name, model) in enumerate(loaded.items(), 1):
        progress.note(f"timing {name} ({k}/{len(loaded)})")
        entry, rows = measure_model(name, model, engines=config.engines, block_sizes=sizes, sr=sr,
                                    n_blocks=config.n_blocks,
                                    seconds_per_config=config.seconds_per_config,
                                    max_block_seconds=config.max_block_seconds, seed=config.seed,
                                    log=log)
        result["models"][name] = entry
        result["measurements"].extend(rows)
    write_json(run_dir / "latency.json", result)
    return result


def pick_demo_model(models: dict, name: str = "auto") -> str:
    """The model the live-style demo streams: ``name``, or for ``"auto"`` the recommended
    :data:`RECOMMENDED_MODEL` if trained, else the first sample-level recurrent, TCN or gray-box
    model (in that order), else the first."""
    if name != "auto":
        if name not in models:
            raise unknown_name("trained model", name, list(models))
        return name
    if RECOMMENDED_MODEL in models:
        return RECOMMENDED_MODEL
    kinds = {n: kind_of(m) for n, m in models.items()}
    for wanted in ("rnn", "tcn", "graybox"):
        for n, k in kinds.items():
            if k == wanted:
                return n
    if not models:
        raise ParameterError(problem("models", found="none", expected="at least one trained model",
                                     fix="run notebook 02_train first"))
    return next(iter(models))


def demo_knob_sweep(processor: Processor) -> dict | None:
    """The knob move of the live-style demo: the first knob from its low end to its high end.

    Returns
    -------
    dict or None
        ``{knob name: (low, high)}`` for :func:`fxlab.runtime.stream_file`'s ``knob_sweep``;
        None for a network without knobs (nothing to move).
    """
    if not processor.knobs:
        return None
    k = processor.knobs[0]
    return {k.name: (k.low, k.high)}
