"""Latency: how fast each model runs block by block on one CPU core, and can it run live?

For every model x engine x block size (1, 16, 64, 256, 1024, 4096 samples) the time of each
``Processor.process(block)`` call is taken with ``time.perf_counter_ns`` over up to 1000 blocks
of seeded white noise after a warm-up (the first blocks, which also trigger XLA compilation, are not
counted). Slow configurations get fewer blocks (a per-configuration time budget; the entry's
``note`` says so) or are skipped when a smaller block size already shows one block would take longer
than ``max_block_seconds`` (``skipped`` says why). Reported per configuration: the median and 99th
percentile time per block, the real-time factor ``RTF = median time / block duration`` (< 1: faster
than real time), ``rtf_p99``, and the algorithmic latency ``block / sr`` in ms (a block must be
complete before it is processed; no model here adds look-ahead).

The live question (the thesis, section 5): a model can run live at a block size when the 99th
percentile of its block time stays under the block's duration. Its *smallest live block* is the
smallest measured block size where that holds (with its best engine); it runs live for voice if that
block is at most 3 ms long (132 samples at 44.1 kHz) and for guitar if at most 13 ms (573 samples).
Only the measured sizes are tried, so 64 samples (1.45 ms) is the voice answer and 256 (5.8 ms) the
guitar answer when the model makes it at those sizes.

One core: :func:`pin_one_core` must run before TensorFlow executes its first operation. It sets the
process's CPU affinity to one core (``os.sched_setaffinity``), ``OMP_NUM_THREADS``,
``TF_NUM_INTRAOP_THREADS``/``TF_NUM_INTEROP_THREADS`` = 1, TensorFlow's
``tf.config.threading.set_intra_op_parallelism_threads(1)`` and ``..._inter_op_...(1)``, and
``numba.set_num_threads(1)``; the TFLite interpreter gets ``num_threads=1``. If TensorFlow was already
running, the record says so (``tf_threads_pinned: false``); the affinity still holds.

``latency.json`` layout
-----------------------
::

    {
      "schema": 1,
      "sr": 44100,
      "block_sizes": [1, 16, 64, 256, 1024, 4096],
      "settings": {LatencyConfig fields: "models", "engines", "block_sizes", "n_blocks",
                   "seconds_per_config", "max_block_seconds", "seed"},
      "conditions": {"cpu_affinity": [0], "tf_threads_pinned": true, "numba_threads": 1,
                     "machine": {...}, "versions": {...}, "load_average": [...]},
      "thesis": {"ms_per_sample": 0.8, "rtf": 35.28, "bounds_ms": {"voice": 3.0, "guitar": 13.0}},
      "models": {
        "<model>": {
          "kind": "rnn" | "tcn" | "windowed", "family": "sample" | "windowed", "param_count": int,
          "engines": {"<engine>": null | "<why it is unavailable>"},
          "default_engine": "numba",
          "summary": {"engine": ..., "rtf": <RTF at 64-sample blocks, default engine>,
                      "p99_ms_64": ..., "ms_per_sample": <median per output sample, block 1 or
                      the smallest measured>, "smallest_live_block": int | null,
                      "smallest_live_ms": float | null, "live_voice": bool, "live_guitar": bool,
                      "best_engine_64": ..., "best_rtf_64": ...}
        }
      },
      "measurements": [
        {"model": ..., "engine": ..., "block_size": 64, "latency_ms": 1.451,
         "n_blocks": 1000, "warmup": 20, "median_ms": ..., "p99_ms": ..., "mean_ms": ...,
         "rtf": ..., "rtf_p99": ..., "ms_per_sample": ..., "note": "" , "skipped": null}
      ]
    }

Functions
---------
- :data:`BLOCK_SIZES`, :data:`THESIS_MS_PER_SAMPLE`, :data:`THESIS_RTF`, :data:`BOUNDS_MS`,
  :data:`RECOMMENDED_MODEL`
- :class:`LatencyConfig`     the frozen, checked settings of a measurement (notebook 05)
- :func:`pin_one_core`       pin this process to one core (call first)
- :func:`machine_info`       CPU, Python and library versions
- :func:`time_blocks`        time one processor at one block size
- :func:`measure_model`      every engine x block size of one model
- :func:`live_answer`        the smallest live block and the voice/guitar verdicts
- :func:`load_models`        trained models of a run folder
- :func:`measure_run`        everything, written to ``run_dir/latency.json``
- :func:`rtf_figure`, :func:`live_table_html`, :func:`thesis_table_html`, :func:`measurements_html`,
  :func:`answer_markdown`   what the notebook and the report show
- :func:`pick_demo_model`    the model the live-style demo streams
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from fxlab import models as fx_models
from fxlab import progress, runtime
from fxlab.audio import STUDY_SR
from fxlab.errors import EngineUnavailableError, ParameterError, problem, unknown_name
from fxlab.runtime import Processor, check_block_size, make_processor
from fxlab.util import NotebookConfig, fmt, html_table, write_json

__all__ = [
    "BLOCK_SIZES",
    "LatencyConfig",
    "THESIS_MS_PER_SAMPLE",
    "THESIS_RTF",
    "BOUNDS_MS",
    "RECOMMENDED_MODEL",
    "pin_one_core",
    "machine_info",
    "time_blocks",
    "measure_model",
    "live_answer",
    "load_models",
    "measure_run",
    "parse_block_sizes",
    "rtf_figure",
    "live_table_html",
    "thesis_table_html",
    "measurements_html",
    "answer_markdown",
    "pick_demo_model",
]

BLOCK_SIZES = (1, 16, 64, 256, 1024, 4096)
#: The thesis, section 4.1.1: one forward pass of its LSTM-384/1024 per output sample [ms].
THESIS_MS_PER_SAMPLE = 0.8
#: 0.8 ms x 44100 samples/s = 35.28 s per second of audio (the thesis rounds to 35).
THESIS_RTF = THESIS_MS_PER_SAMPLE * 1e-3 * STUDY_SR
#: Acceptable latencies the thesis cites (section 5) [ms].
BOUNDS_MS = {"voice": 3.0, "guitar": 13.0}
#: The sample-level model the study recommends for real time: a one-layer LSTM-32 (the field's
#: standard, Wright et al. 2020; fxlab.models's default ``lstm``).
RECOMMENDED_MODEL = "lstm"

_CONDITIONS: dict = {}


@dataclass(frozen=True)
class LatencyConfig(NotebookConfig):
    """Settings of one latency measurement: notebook 05's parameters, frozen and checked.

    The notebook builds it in one line: ``config = latency.LatencyConfig.from_parameters(globals())``.

    Attributes
    ----------
    run_dir : str
        The run folder holding ``data/`` and ``models/``.
    seed : int
        Seed of the white-noise blocks that are timed.
    models : str
        ``"all"`` or comma-separated names of trained models in ``run_dir/models``.
    engines : str
        ``"all"`` or comma-separated engine names (:data:`KIND_ENGINES`: every engine of
        :mod:`fxlab.runtime.engines` for LSTM/GRU, ``numba``/``keras`` for the TCN).
    block_sizes : tuple of int [samples]
        Parsed from ``"1,16,64,256,1024,4096"``.
    n_blocks : int >= 1
        Blocks timed per configuration (the issue asks for 1000).
    seconds_per_config : float > 0 [s]
        Time budget per configuration; slower ones time fewer blocks (recorded in ``note``).
    max_block_seconds : float > 0 [s]
        Skip block sizes predicted to take longer than this per block.
    demo_model : str
        Model streamed in the demo: ``"auto"`` (see :func:`pick_demo_model`) or a name.
    demo_block_size : int >= 1 [samples]
        Block size of the demo.
    """

    run_dir: str = "../reports/lab"
    seed: int = 0
    models: str = "all"
    engines: str = "all"
    block_sizes: tuple = BLOCK_SIZES
    n_blocks: int = 1000
    seconds_per_config: float = 5.0
    max_block_seconds: float = 2.0
    demo_model: str = "auto"
    demo_block_size: int = 64

    def __post_init__(self):
        object.__setattr__(self, "block_sizes", tuple(parse_block_sizes(self.block_sizes)))
        check_block_size(self.demo_block_size, name="demo_block_size")
        _engine_list("rnn", self.engines)
        if isinstance(self.n_blocks, bool) or not isinstance(self.n_blocks, int) or self.n_blocks < 1:
            raise ParameterError(problem(
                f"n_blocks={self.n_blocks!r}", found=repr(self.n_blocks), expected="an integer >= 1",
                fix="pass n_blocks=1000 (the issue's minimum) or fewer for a quick look"))
        for key in ("seconds_per_config", "max_block_seconds"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ParameterError(problem(
                    f"{key}={v!r}", found=repr(v), expected="a number of seconds > 0",
                    fix=f"pass e.g. {key}=1.0"))

    def to_dict(self) -> dict:
        """Plain-dict form (saved in ``latency.json``)."""
        return {**{k: v for k, v in asdict(self).items() if k != "run_dir"},
                "block_sizes": list(self.block_sizes)}


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


def time_blocks(processor: Processor, *, block_size: int, n_blocks: int = 1000,
                warmup: int = 20, seconds: float = 5.0, min_blocks: int = 5, seed: int = 0) -> dict:
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
        Seed of the noise (amplitude 0.5).

    Returns
    -------
    entry : dict
        ``block_size``, ``latency_ms``, ``n_blocks``, ``warmup``, ``median_ms``, ``p99_ms``,
        ``mean_ms``, ``rtf``, ``rtf_p99``, ``ms_per_sample``, ``note``.
    """
    block_size = check_block_size(block_size)
    sr = processor.sr
    rng = np.random.default_rng(seed)
    span = int(min(max(block_size * 64, sr), 1 << 20))
    noise = (rng.uniform(-0.5, 0.5, span + block_size)).astype(np.float32)
    starts = rng.integers(0, span, size=n_blocks + warmup)
    processor.reset()
    for i in range(warmup):
        processor.process(noise[starts[i] : starts[i] + block_size])
    times = []
    clock = time.perf_counter_ns
    deadline = time.perf_counter() + seconds
    for i in range(warmup, warmup + n_blocks):
        block = noise[starts[i] : starts[i] + block_size]
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
    }


#: The engines that can run each kind of network, fastest first (the first available is the default).
KIND_ENGINES = {"rnn": runtime.ENGINE_NAMES, "tcn": ("numba", "keras"), "windowed": ("keras",)}


def _kind(model) -> str:
    config = fx_models.config_of(model)
    return "windowed" if config["family"] == "windowed" else ("tcn" if config["name"] == "tcn" else "rnn")


def _engine_list(kind: str, engines: str | list) -> list[str]:
    known = sorted({e for names in KIND_ENGINES.values() for e in names})
    if engines in ("all", None):
        return list(KIND_ENGINES[kind])
    names = [e.strip() for e in engines.split(",")] if isinstance(engines, str) else list(engines)
    for e in names:
        if e not in known:
            raise unknown_name("engine", e, known)
    return [e for e in names if e in KIND_ENGINES[kind]] or list(KIND_ENGINES[kind][:1])


def measure_model(name: str, model, *, engines="all", block_sizes=BLOCK_SIZES, sr: int = STUDY_SR,
                  n_blocks: int = 1000, seconds_per_config: float = 5.0,
                  max_block_seconds: float = 2.0, seed: int = 0, log=print) -> tuple[dict, list]:
    """Measure one model with each engine at each block size.

    Parameters
    ----------
    name : str
    model : TrainedModel or keras.Model
    engines : "all", str (comma-separated) or list of str
        Engines to try (LSTM/GRU only; other kinds run their Keras model in ``tf.function``,
        recorded as engine ``"keras"``).
    block_sizes : sequence of int [samples]
    sr : int [Hz]
    n_blocks, seconds_per_config : see :func:`time_blocks`
    max_block_seconds : float [s]
        Skip a block size when the next smaller one, scaled by the size ratio, predicts a block
        time above this (recorded with the reason).
    seed : int
    log : callable or None
        Progress lines.

    Returns
    -------
    (model_entry, measurements) : (dict, list of dict)
        See the module docstring for the layout.
    """
    kind = _kind(model)
    wanted = _engine_list(kind, engines)
    status: dict[str, str | None] = {}
    rows = []
    for eng in wanted:
        try:
            proc = make_processor(model, engine=eng, sr=sr)
        except EngineUnavailableError as exc:
            status[eng] = str(exc)
            if log:
                log(f"{name}: engine {eng} unavailable: {exc}")
            continue
        status[eng] = None
        prev = None
        for bs in block_sizes:
            bs = check_block_size(bs)
            base = {"model": name, "engine": eng}
            if prev is not None and prev["median_ms"] * 1e-3 * bs / prev["block_size"] > max_block_seconds:
                est = prev["median_ms"] * 1e-3 * bs / prev["block_size"]
                rows.append({**base, "block_size": bs, "latency_ms": bs / sr * 1e3, "skipped":
                             f"not measured: {prev['block_size']}-sample blocks predict {est:.2f} s "
                             f"per block (> max_block_seconds={max_block_seconds:g})"})
                continue
            # one warm-up block first: a very slow config gets few warm-up blocks
            t0 = time.perf_counter()
            proc.reset()
            proc.process(np.zeros(bs, np.float32))
            first = time.perf_counter() - t0
            warm = 20 if first < 0.05 else 2
            entry = time_blocks(proc, block_size=bs, n_blocks=n_blocks, warmup=warm,
                                seconds=seconds_per_config, seed=seed)
            rows.append({**base, **entry})
            prev = entry
            if log:
                log(f"{name:>20s} {eng:>11s} {bs:5d}: median {entry['median_ms']:9.4f} ms  "
                    f"p99 {entry['p99_ms']:9.4f} ms  RTF {entry['rtf']:8.4f}  ({entry['n_blocks']} blocks)")
    default = next((e for e in KIND_ENGINES[kind] if status.get(e, "x") is None), None)
    model_entry = {
        "kind": kind,
        "family": "windowed" if kind == "windowed" else "sample",
        "param_count": int(fx_models.keras_of(model).count_params()),
        "engines": status,
        "default_engine": default,
        "summary": _summary(rows, default, sr),
    }
    return model_entry, rows


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
        **live_answer(measured, sr=sr),
    }


def parse_block_sizes(text) -> list[int]:
    """``"1,16,64"`` (or a list) -> ``[1, 16, 64]``, each checked (``ParameterError``)."""
    items = [t.strip() for t in text.split(",") if t.strip()] if isinstance(text, str) else list(text)
    out = []
    for item in items:
        if isinstance(item, str):
            try:
                item = int(item)
            except ValueError as exc:
                raise ParameterError(problem(
                    f"block_sizes={text!r}", found=f"{item!r}", expected="comma-separated integers",
                    fix='write e.g. block_sizes="1,16,64,256,1024,4096"')) from exc
        out.append(check_block_size(item, name="block size"))
    if not out:
        raise ParameterError(problem(f"block_sizes={text!r}", found="no sizes",
                                     expected="at least one block size", fix='e.g. "64"'))
    return out


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


# --------------------------------------------------------------------------------- display


def rtf_figure(result: dict, *, save_to=None):
    """RTF against block size, log-log, one panel per model, one line per engine.

    A horizontal line marks real time (RTF 1; below it the model keeps up) and dotted vertical
    lines the thesis's 3 ms and 13 ms bounds. Median as a line, 99th percentile as a shaded band.
    With ``save_to`` (a ``.png`` path) the figure is written there and closed (``display(fig)``
    still shows it).
    """
    import matplotlib.pyplot as plt

    names = list(result["models"])
    n = max(len(names), 1)
    cols = min(n, 3)
    rows_n = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.6 * cols, 3.6 * rows_n), squeeze=False)
    sr = result["sr"]
    for ax, name in zip(axes.ravel(), names, strict=False):
        entry = result["models"][name]
        for eng in [e for e, why in entry["engines"].items() if why is None]:
            rs = [r for r in result["measurements"]
                  if r["model"] == name and r["engine"] == eng and not r.get("skipped")]
            if not rs:
                continue
            b = [r["block_size"] for r in rs]
            ax.plot(b, [r["rtf"] for r in rs], "o-", label=eng, lw=1.5, ms=4)
            ax.fill_between(b, [r["rtf"] for r in rs], [r["rtf_p99"] for r in rs], alpha=0.15)
        ax.axhline(1.0, color="k", lw=1)
        ax.text(1.05, 1.0, " real time", va="bottom", fontsize=8)
        for label, ms in BOUNDS_MS.items():
            ax.axvline(ms * 1e-3 * sr, color="grey", ls=":", lw=1)
            ax.text(ms * 1e-3 * sr, 1.0, f" {label} {ms:g} ms",
                    rotation=90, va="bottom", fontsize=7, color="grey")
        ax.set_xscale("log", base=2)
        ax.set_xlim(min(result["block_sizes"]) / 1.5, max(result["block_sizes"]) * 1.5)
        ax.set_yscale("log")
        ax.set_xlabel("block size [samples]")
        ax.set_ylabel("real-time factor (median)")
        ax.set_title(f"{name} ({entry['kind']})", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    fig.suptitle("Processing time ÷ audio duration, one CPU core (band: up to the 99th percentile)",
                 fontsize=10)
    fig.tight_layout()
    if save_to is not None:
        save_to = Path(save_to)
        save_to.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save_to, dpi=110)
        plt.close(fig)
    return fig


def live_table_html(result: dict) -> str:
    """HTML table: per model, its smallest live block and whether it runs live for voice/guitar."""
    head = ("model", "kind", "parameters", "default engine", "RTF at 64 (1.45 ms)", "p99 at 64 [ms]",
            "smallest live block", "voice (3 ms)", "guitar (13 ms)")
    rows = []
    for name, e in result["models"].items():
        s = e["summary"]
        live = (f"{s['smallest_live_block']} samples = {s['smallest_live_ms']:.2f} ms ({s['live_engine']})"
                if s["smallest_live_block"] else "none measured")
        rows.append((name, e["kind"], int(e["param_count"]), s["engine"], fmt(s["rtf"]),
                     fmt(s["p99_ms_64"]), live, bool(s["live_voice"]), bool(s["live_guitar"])))
    return html_table(head, rows, caption="Can it run live? Smallest measured block whose "
                      "99th-percentile processing time stays under the block's duration, one CPU "
                      "core.")


def thesis_table_html(result: dict) -> str:
    """HTML table: the thesis's 0.8 ms per output sample (35x slower than real time) beside ours."""
    rows = [("thesis LSTM-384, 1024-sample window (section 4.1.1; its GPU)", "1 (per sample)",
             fmt(THESIS_MS_PER_SAMPLE, 6), f"{THESIS_RTF:.1f}", "no")]
    for name, e in result["models"].items():
        s = e["summary"]
        if s["ms_per_sample"] is None:
            continue
        b = s["ms_per_sample_block"]
        rtf = s["ms_per_sample"] * 1e-3 * result["sr"]
        rows.append((f"{name} ({e['kind']}, {s['engine']})", str(b), fmt(s["ms_per_sample"], 4),
                     fmt(rtf), bool(s["smallest_live_block"])))
    return html_table(("network", "block [samples]", "ms per output sample", "RTF",
                       "live at any measured block?"), rows,
                      caption="Time per output sample: the thesis's figure beside ours (one CPU "
                      "core, median, at the smallest block measured).")


def measurements_html(result: dict) -> str:
    """Every measurement as an HTML table (skipped ones with their reason)."""
    head = ("model", "engine", "block", "latency [ms]", "blocks", "median [ms]", "p99 [ms]", "RTF",
            "RTF p99", "note")
    rows = []
    for r in result["measurements"]:
        if r.get("skipped"):
            rows.append((r["model"], r["engine"], str(r["block_size"]), fmt(r["latency_ms"]), None,
                         None, None, None, None, r["skipped"]))
        else:
            rows.append((r["model"], r["engine"], str(r["block_size"]), fmt(r["latency_ms"]),
                         str(r["n_blocks"]), fmt(r["median_ms"], 4), fmt(r["p99_ms"], 4),
                         fmt(r["rtf"]), fmt(r["rtf_p99"]), r["note"]))
    return html_table(head, rows, caption="All measurements (time per block, one CPU core)")


def answer_markdown(result: dict) -> str:
    """The thesis's question answered in words, per model (Markdown)."""
    lines = [
        "**Can it process a live stream without a significant delay?** The thesis (sections 4.1.1 "
        f"and 5): {THESIS_MS_PER_SAMPLE} ms per output sample, {THESIS_RTF:.0f}x slower than real "
        "time, against 3 ms (voice) and 13 ms (guitar) of acceptable latency: no. Ours, on one CPU "
        "core of this machine:", ""]
    for name, e in result["models"].items():
        s = e["summary"]
        if s["smallest_live_block"]:
            verdict = (f"runs live from **{s['smallest_live_block']}-sample blocks "
                       f"({s['smallest_live_ms']:.2f} ms)** with `{s['live_engine']}`: "
                       f"voice {'yes' if s['live_voice'] else 'no'}, guitar "
                       f"{'yes' if s['live_guitar'] else 'no'}")
        else:
            verdict = "**does not run live** at any measured block size"
        rtf = f"; RTF at 64 samples {s['rtf']:.3g}" if s["rtf"] is not None else ""
        lines.append(f"- `{name}` ({e['kind']}, {e['param_count']:,} parameters) {verdict}{rtf}.")
    c = result["conditions"]
    lines += ["", f"Conditions: core(s) {c.get('cpu_affinity')}, TensorFlow threads pinned: "
              f"{c.get('tf_threads_pinned')}, load average {c.get('load_average')} (other work on "
              "the machine inflates the times, the 99th percentile most)."]
    return "\n".join(lines)


def pick_demo_model(models: dict, name: str = "auto") -> str:
    """The model the live-style demo streams: ``name``, or for ``"auto"`` the recommended
    :data:`RECOMMENDED_MODEL` if trained, else the first sample-level recurrent, else the first."""
    if name != "auto":
        if name not in models:
            raise unknown_name("trained model", name, list(models))
        return name
    if RECOMMENDED_MODEL in models:
        return RECOMMENDED_MODEL
    kinds = {n: _kind(m) for n, m in models.items()}
    for wanted in ("rnn", "tcn"):
        for n, k in kinds.items():
            if k == wanted:
                return n
    if not models:
        raise ParameterError(problem("models", found="none", expected="at least one trained model",
                                     fix="run notebook 02_train first"))
    return next(iter(models))
