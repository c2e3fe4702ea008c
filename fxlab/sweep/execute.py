"""Run a sweep's points on Dask distributed, each one pipeline run, then the comparison.

Every point is one :func:`fxlab.pipeline.run` into ``reports/<sweep-id>/<point>/`` (its own run
folder and ``report.html``), executed as one task on a Dask worker. Without a scheduler address a
:class:`distributed.LocalCluster` is started: worker processes, one thread each, and every point's
notebooks limited to one thread per library (:data:`THREAD_ENV`), so N workers use N cores and no
more. With an address (``tcp://host:8786``) the points go to that cluster's workers, which must see
the same ``reports/`` folder (shared storage): they write the run folders, the client reads them.

Robustness: a point that fails is recorded with its error (``<point>/point.json`` and
``sweep.json``) and the others go on. Rerunning the same sweep (same ``--sweep-id``; the default is
the spec file's name) skips every point that finished with the same overrides and steps, and reruns
the others into their existing folders, where the pipeline resumes: the data set is not rebuilt and
training continues from each model's last checkpoint. A worker killed mid-point has its task
rescheduled by Dask onto another worker, which resumes the point the same way.

Ctrl-C in the client stops the sweep: the client writes a stop file in the sweep folder
(``.stop-<client>``, one per run of the client), which every running point watches; a point that
sees it ends its notebook kernel and records itself ``interrupted``. The client waits (up to
:data:`STOP_WAIT_S`; a second Ctrl-C cuts the wait short) for the running points to say so, marks
every point not finished ``interrupted`` (``point.json``, ``sweep.json``) and raises
:class:`SweepInterrupted`. A Dask worker cannot stop a task that is running, so without the stop
file the points would go on on an external cluster after their client has gone.

Progress: one line per change of a point's state (queued, running a step, done, failed) with the
overall count, and a bar on a terminal. Each worker writes its point's state to ``point.json``; the
client polls those files.

- :func:`run_sweep`    run (or resume) a sweep; returns a :class:`SweepResult`
- :func:`run_point`    the task a worker runs for one point (a plain function: any Dask cluster)
- :func:`start_client` a Dask client on a new LocalCluster or on a scheduler address
- :func:`read_point`   a point's recorded state (``point.json``), or None
- :data:`THREAD_ENV`   the thread limits given to every point's notebooks
- :class:`SweepInterrupted` raised by :func:`run_sweep` on Ctrl-C (a ``KeyboardInterrupt``), with the result
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from fxlab.errors import ParameterError, PipelineError, problem
from fxlab.sweep.spec import Point, SweepSpec, load_spec
from fxlab.util import write_json

__all__ = ["THREAD_ENV", "SweepInterrupted", "SweepResult", "read_point", "run_point", "run_sweep",
           "start_client"]

#: Environment of every point's notebooks: one thread per library (TensorFlow's intra- and inter-op
#: pools, OpenMP, BLAS, numba), so that a worker's kernel uses one core.
THREAD_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
              "TF_CPP_MIN_LOG_LEVEL": "2"}

POINT_FILE = "point.json"
_POLL_S = 0.5
#: Seconds the client waits, after Ctrl-C, for the running points to stop.
STOP_WAIT_S = 30.0
#: Seconds a point's kernel has between SIGTERM and SIGKILL when its sweep is stopped.
_KILL_AFTER_S = 5.0
#: A point's notebook kernel, recognised among its worker process's children by its command line.
_KERNEL_MARK = "ipykernel"


def _cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def read_point(point_dir: str | os.PathLike) -> dict | None:
    """The state a point last recorded in ``point.json``: ``name``, ``swept``, ``overrides``,
    ``steps``, ``status`` (queued, running, ok, failed, interrupted), ``step``, ``error``,
    ``wall_s``, ``host``, ``pid`` ...; None when the point has never been queued or the file is
    unreadable."""
    try:
        return json.loads((Path(point_dir) / POINT_FILE).read_text())
    except (OSError, ValueError):
        return None


class _Stopped(Exception):
    """Raised from a point's step callback when its sweep was stopped (ends its pipeline run)."""


class _StopWatch(threading.Thread):
    """Watches a point's stop file; once it appears, ends the point's notebook kernels.

    The kernels are this process's ``ipykernel`` child processes (on a one-thread worker, this
    point's only): SIGTERM, then SIGKILL after :data:`_KILL_AFTER_S`. The pipeline sees its kernel
    die, records the step as failed and returns; :func:`run_point` then records ``interrupted``.
    """

    def __init__(self, stop_file: str | os.PathLike):
        super().__init__(name="fxlab-point-stop", daemon=True)
        self.stop_file = Path(stop_file)
        self.requested = threading.Event()
        self.done = threading.Event()

    def check(self) -> bool:
        if not self.requested.is_set() and self.stop_file.exists():
            self.requested.set()
        return self.requested.is_set()

    def run(self) -> None:
        since = None
        while not self.done.wait(_POLL_S):
            if self.check():
                since = since or time.monotonic()
                _end_kernels(kill=time.monotonic() - since > _KILL_AFTER_S)


def _end_kernels(*, kill: bool) -> None:
    """Terminate (or kill) this process's notebook kernels."""
    import psutil  # a dependency of distributed

    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):  # ended meanwhile, or a zombie
            if any(_KERNEL_MARK in part for part in child.cmdline()):
                if kill:
                    child.kill()
                else:
                    child.terminate()


def run_point(point: dict, *, profile: str, steps: list[str], sweep_dir: str, cache_dir: str,
              thread_env: dict | None = None, stop_file: str | None = None) -> dict:
    """Run one point as a pipeline run into ``sweep_dir/<point name>/``; never raises.

    Runs on a Dask worker (or anywhere): sets ``thread_env`` (default :data:`THREAD_ENV`) and
    ``FXLAB_CACHE=cache_dir`` (the data-set cache every point shares) for the notebooks' kernels,
    records the point's state in ``point.json`` as each step starts and ends, and returns the final
    state (``status`` "ok", "failed" or "interrupted", ``error``, ``wall_s``, ``steps``).
    ``stop_file``: once this file exists (the client was stopped), the point ends its kernel and
    returns as "interrupted"; rerunning it resumes from its checkpoints.
    """
    from fxlab import pipeline

    folder = Path(sweep_dir) / point["name"]
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    state = {**point, "steps": steps, "status": "running", "step": None, "error": "",
             "started": _now(), "finished": None, "wall_s": None, "host": os.uname().nodename,
             "pid": os.getpid()}
    watch = _StopWatch(stop_file) if stop_file else None
    if watch is not None and watch.check():  # stopped before it started: a cancelled task
        state.update(status="interrupted", error="not started: the sweep was stopped", finished=_now())
        write_json(folder / POINT_FILE, state)
        return state
    os.environ.update(THREAD_ENV if thread_env is None else thread_env)
    os.environ["FXLAB_CACHE"] = cache_dir
    write_json(folder / POINT_FILE, state)
    t0 = time.perf_counter()

    def on_step(i: int, n: int, sr) -> None:
        state.update(step=sr.name, step_index=i, step_total=n)
        write_json(folder / POINT_FILE, state)
        if watch is not None and watch.requested.is_set():
            raise _Stopped(f"stopped before step {sr.name}")

    with open(folder / "logs" / "sweep.log", "a", encoding="utf-8") as log_file:
        def log(message: str) -> None:
            log_file.write(message + "\n")
            log_file.flush()

        if watch is not None:
            watch.start()
        try:
            result = pipeline.run(profile, steps=steps, run_id=point["name"],
                                  overrides=point["overrides"], reports_dir=sweep_dir, log=log,
                                  on_step=on_step, link_latest=False)
            bad = result.failed_step
            state["status"] = "ok" if result.ok else "failed"
            if bad is not None:
                where = f" in cell [{bad.cell}]" if bad.cell else ""
                state["error"] = f"step {bad.name} {bad.status}{where}: {bad.error}"
                state["step"] = bad.name
        except Exception as e:  # a point's failure is recorded; the sweep goes on
            state["status"], state["error"] = "failed", f"{type(e).__name__}: {e}"
        finally:
            if watch is not None:
                watch.done.set()
        if watch is not None and watch.requested.is_set() and state["status"] != "ok":
            state["status"] = "interrupted"
            state["error"] = f"interrupted in step {state['step']}: the sweep was stopped (Ctrl-C)"
            log(f"point {point['name']}: {state['error']}")
    state.update(finished=_now(), wall_s=round(time.perf_counter() - t0, 1))
    write_json(folder / POINT_FILE, state)
    return state


def _finished(folder: Path, point: Point, steps: list[str]) -> bool:
    """True when ``folder`` holds a successful run of exactly this point and these steps."""
    state = read_point(folder)
    if not state or state.get("status") != "ok" or state.get("steps") != steps \
            or json.dumps(state.get("overrides"), sort_keys=True) != json.dumps(point.overrides, sort_keys=True):
        return False
    try:
        run = json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(run.get("ok")) and [s["name"] for s in run.get("steps", [])] == steps


def start_client(*, workers: int | None = None, scheduler: str | None = None):
    """A :class:`distributed.Client`: on ``scheduler`` (an address) or on a new LocalCluster.

    The LocalCluster has ``workers`` worker processes (default: the cores this process may use),
    one thread each, with :data:`THREAD_ENV` in their environment. A scheduler's workers must run
    one thread each too (a point sets its process's environment): a worker with more is refused.
    Close the client (and its ``cluster``, for a local one) when done.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:  # a dependency of fxlab: only a broken environment lacks it
        raise PipelineError(problem("fxlab sweep", found=f"no Dask distributed ({e})",
                                    expected="the 'distributed' package, a dependency of fxlab",
                                    fix='reinstall fxlab: pip install -e "."')) from e
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as e:
            raise PipelineError(problem(f"--scheduler {scheduler}", found=f"no scheduler answering ({e})",
                                        expected="the address of a running Dask scheduler",
                                        fix="start the cluster first (dask-jobqueue, dask-kubernetes, "
                                            "dask scheduler) or leave --scheduler out")) from e
        threads = {w.get("name", a): w.get("nthreads", 1)
                   for a, w in client.scheduler_info().get("workers", {}).items()}
        wide = {name: n for name, n in threads.items() if n > 1}
        if wide:  # a point changes its process's environment and stderr: one at a time per process
            client.close()
            raise PipelineError(problem(
                f"--scheduler {scheduler}", found=f"workers with several threads {wide}",
                expected="one thread per worker process (a point runs alone in its process)",
                fix="start the workers with --nthreads 1 (dask-jobqueue: processes equal to cores)"))
        return client
    n = _check_workers(_cores() if workers is None else workers)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, env=dict(THREAD_ENV),
                           dashboard_address=None, silence_logs=40)
    return Client(cluster)


@dataclass
class SweepResult:
    """The outcome of :func:`run_sweep`: the sweep folder, each point's final state, the report."""

    sweep_id: str
    sweep_dir: Path
    points: dict[str, dict] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    report: Path | None = None
    compare_error: str = ""

    @property
    def ok(self) -> bool:
        return all(p.get("status") == "ok" for p in self.points.values()) and not self.compare_error

    @property
    def failed(self) -> list[str]:
        """The points that did not finish: failed or interrupted."""
        return [n for n, p in self.points.items() if p.get("status") != "ok"]

    @property
    def interrupted(self) -> list[str]:
        """The points stopped by Ctrl-C (rerunning the sweep resumes them)."""
        return [n for n, p in self.points.items() if p.get("status") == "interrupted"]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`run_sweep`; ``result`` holds every point's state, the unfinished ones
    ``interrupted`` (recorded in ``point.json`` and ``sweep.json``). A ``KeyboardInterrupt``, so
    whatever stops on Ctrl-C still stops."""

    def __init__(self, result: SweepResult):
        super().__init__(f"sweep {result.sweep_id} interrupted: {len(result.interrupted)} points not finished")
        self.result = result


class _Progress:
    """The sweep's live lines (one per change of a point's state) and, on a terminal, a bar."""

    def __init__(self, total: int, done: int, log):
        from tqdm import tqdm

        self.total, self.log, self.seen = total, log, {}
        self.bar = tqdm(total=total, initial=done, unit="point", desc="sweep", file=sys.stderr,
                        disable=not sys.stderr.isatty(), leave=False)
        self.counts = {"ok": done, "failed": 0}

    def _say(self, message: str) -> None:
        c = self.counts
        line = f"[{c['ok'] + c['failed']}/{self.total} done, {c['failed']} failed] {message}"
        if self.bar.disable:
            self.log(line)
        else:
            self.bar.write(line, file=sys.stderr)

    def update(self, name: str, state: dict | None) -> None:
        if not state:
            return
        status = state.get("status")
        key = (status, state.get("step"))
        if self.seen.get(name) == key:
            return
        self.seen[name] = key
        if status == "running":
            step = state.get("step")
            if step:
                self._say(f"{name}: running {step} ({state.get('step_index')}/{state.get('step_total')})")
            else:
                self._say(f"{name}: starting on {state.get('host', 'a worker')}")
        elif status == "queued":
            self._say(f"{name}: queued")
        elif status in ("ok", "failed"):
            self.counts[status] += 1
            self.bar.update(1)
            if status == "ok":
                self._say(f"{name}: done in {state.get('wall_s')} s")
            else:
                self._say(f"{name}: FAILED: {state.get('error')}")

    def close(self) -> None:
        self.bar.close()


def _check_workers(workers: object) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ParameterError(problem(f"--workers {workers}", found=repr(workers),
                                     expected="a whole number of worker processes >= 1",
                                     fix="e.g. --workers 2, or leave it out for one per core"))
    return workers


def _check_sweep_id(sweep_id: str) -> str:
    if not sweep_id or not sweep_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ParameterError(problem("--sweep-id", found=repr(sweep_id), expected="letters, digits, '-', '_', '.'",
                                     fix="e.g. --sweep-id units-try2"))
    return sweep_id


def _write_sweep_json(sweep_dir: Path, spec: SweepSpec, result: SweepResult, started: str,
                      extra: dict) -> None:
    write_json(sweep_dir / "sweep.json", {
        "sweep_id": result.sweep_id, "started": started, "finished": _now(), "spec": spec.to_dict(),
        "points": result.points, "skipped": result.skipped, **extra})


def run_sweep(spec: str | os.PathLike | SweepSpec, *, sweep_id: str | None = None,
              reports_dir: str | os.PathLike = "reports", workers: int | None = None,
              scheduler: str | None = None, compare: bool = True, log=None) -> SweepResult:
    """Run (or resume) the sweep ``spec`` into ``reports_dir/<sweep_id>/`` and build ``sweep.html``.

    Parameters
    ----------
    spec : path or SweepSpec
        The spec (see :mod:`fxlab.sweep.spec`); read and checked before anything starts.
    sweep_id : str, optional
        The sweep folder's name; default the spec file's name without ``.yaml``. Rerunning with
        the same id skips finished points and resumes the others.
    workers : int >= 1, optional
        Worker processes of the LocalCluster; default the cores available. Ignored with
        ``scheduler``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); its workers must share the
        reports folder with this process.
    compare : bool
        Run ``notebooks/06_compare.ipynb`` over the points and build ``sweep.html``.
    log : callable(str), optional
        Receives the progress lines (default: print).

    Returns
    -------
    SweepResult
        ``ok`` is False when a point or the comparison failed; never raises for a point's failure.

    Raises
    ------
    SweepInterrupted
        On Ctrl-C while the points run: the running points are stopped and every unfinished one is
        marked ``interrupted``; the comparison is not run. Rerunning the sweep resumes them.
    """
    log = log or (lambda msg: print(msg, flush=True))
    if workers is not None:
        _check_workers(workers)
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    sweep_id = _check_sweep_id(sweep_id or spec.path.stem)
    reports = Path(reports_dir).resolve()
    sweep_dir = reports / sweep_id
    sweep_dir.mkdir(parents=True, exist_ok=True)
    started = _now()
    result = SweepResult(sweep_id, sweep_dir)
    pending: list[Point] = []
    for p in spec.points:
        if _finished(sweep_dir / p.name, p, spec.steps):
            result.points[p.name] = read_point(sweep_dir / p.name)
            result.skipped.append(p.name)
        else:
            pending.append(p)
    log(f"fxlab sweep: {len(spec.points)} points of profile {spec.profile} (steps "
        f"{' '.join(s.split('_')[0] for s in spec.steps)}) -> {sweep_dir}")
    if result.skipped:
        log(f"  {len(result.skipped)} finished earlier, not rerun: {', '.join(result.skipped)}")
    resumed = [p.name for p in pending
               if (read_point(sweep_dir / p.name) or {}).get("status") in ("interrupted", "running")]
    if resumed:
        log(f"  {len(resumed)} stopped earlier, resumed from their checkpoints: {', '.join(resumed)}")
    if workers is None and not scheduler:
        workers = min(len(pending), _cores()) or 1  # no more workers than points to run
    extra = {"scheduler": scheduler or "LocalCluster", "workers": None if scheduler else workers}
    _write_sweep_json(sweep_dir, spec, result, started, extra)

    if pending:
        try:
            _run_pending(pending, spec, sweep_dir, result, workers=workers, scheduler=scheduler, log=log)
        except SweepInterrupted:
            _write_sweep_json(sweep_dir, spec, result, started, {**extra, "interrupted": True})
            log(f"  interrupted: {len(result.interrupted)} points not finished, marked 'interrupted' "
                f"(rerun the sweep to resume them): {', '.join(result.interrupted)}")
            raise
    _write_sweep_json(sweep_dir, spec, result, started, extra)

    if compare:
        from fxlab.sweep.report import build_sweep_report, run_compare

        error = run_compare(sweep_dir, log=log)
        result.compare_error = error
        result.report = build_sweep_report(sweep_dir, compare_error=error)
        log(f"  comparison: {result.report}" + (f" (the notebook failed: {error})" if error else ""))
    _write_sweep_json(sweep_dir, spec, result, started, extra)
    return result


def _run_pending(pending: list[Point], spec: SweepSpec, sweep_dir: Path, result: SweepResult, *,
                 workers: int | None, scheduler: str | None, log) -> None:
    client = start_client(workers=workers, scheduler=scheduler)
    for p in pending:  # queued, before any worker can overwrite it
        write_json(sweep_dir / p.name / POINT_FILE,
                   {"name": p.name, "swept": p.swept, "overrides": p.overrides, "steps": spec.steps,
                    "status": "queued", "step": None, "error": "", "queued": _now()})
    progress = _Progress(len(spec.points), len(result.skipped), log)
    stop_file = sweep_dir / f".stop-{os.uname().nodename}-{os.getpid()}-{time.time_ns()}"
    cache_dir = os.environ.get("FXLAB_CACHE") or str(sweep_dir.parent / "_cache")
    open_: dict = {}  # name -> future of the points not finished
    interrupted = False
    try:
        for p in pending:
            open_[p.name] = client.submit(
                run_point, {"name": p.name, "swept": p.swept, "overrides": p.overrides},
                profile=spec.profile, steps=spec.steps, sweep_dir=str(sweep_dir), cache_dir=cache_dir,
                stop_file=str(stop_file), key=f"fxlab-point-{sweep_dir.name}-{p.name}-{time.time_ns()}",
                pure=False)
        for name in open_:
            progress.update(name, read_point(sweep_dir / name))
        while open_:
            time.sleep(_POLL_S)
            for name, fut in list(open_.items()):
                if fut.done():
                    if fut.status == "finished":
                        state = fut.result()
                    else:  # the task itself died: e.g. its workers were killed too often
                        state = {**(read_point(sweep_dir / name) or {"name": name}), "status": "failed",
                                 "error": f"{type(fut.exception()).__name__}: {fut.exception()}",
                                 "finished": _now()}
                        write_json(sweep_dir / name / POINT_FILE, state)
                    result.points[name] = state
                    progress.update(name, state)
                    del open_[name]
                else:
                    progress.update(name, read_point(sweep_dir / name))
    except KeyboardInterrupt:
        interrupted = True
        _stop_points(client, open_, sweep_dir, stop_file, log)
    finally:
        progress.close()
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and not scheduler:
            cluster.close()
    if interrupted:
        for p in pending:
            if p.name in result.points:
                continue
            state = read_point(sweep_dir / p.name) or {"name": p.name, "steps": spec.steps}
            if state.get("status") not in ("ok", "failed", "interrupted"):  # queued, or not answering
                state.update(status="interrupted", finished=_now(),
                             error="the sweep was stopped (Ctrl-C) before this point finished")
                write_json(sweep_dir / p.name / POINT_FILE, state)
            result.points[p.name] = state
    order = [p.name for p in spec.points]
    result.points = {n: result.points[n] for n in order if n in result.points}
    if interrupted:
        raise SweepInterrupted(result)


def _stop_points(client, open_: dict, sweep_dir: Path, stop_file: Path, log) -> None:
    """Stop the points of ``open_`` (name -> future) after Ctrl-C: cancel the ones not started,
    write ``stop_file`` for the running ones, and wait up to :data:`STOP_WAIT_S` until none of them
    says it is running (a point whose worker process on this machine is gone is not waited for). A
    second Ctrl-C ends the wait."""
    stop_file.write_text(f"stopped by Ctrl-C in the client at {_now()}\n")
    log(f"  Ctrl-C: stopping {len(open_)} unfinished points (a second Ctrl-C stops waiting) ...")
    running = set(open_)
    try:
        with contextlib.suppress(Exception):  # the scheduler may be gone already
            client.cancel(list(open_.values()))
        deadline = time.monotonic() + STOP_WAIT_S
        while running and time.monotonic() < deadline:
            running = {n for n in running if _still_running(read_point(sweep_dir / n))}
            if running:
                time.sleep(_POLL_S)
    except KeyboardInterrupt:
        pass
    if running:
        log(f"  not confirmed stopped: {', '.join(sorted(running))}; they stop when they see "
            f"{stop_file}")
    else:
        stop_file.unlink(missing_ok=True)


def _still_running(state: dict | None) -> bool:
    """True when a point's state says it is running, and its process lives (when on this machine)."""
    if not state or state.get("status") != "running":
        return False
    if state.get("host") == os.uname().nodename and state.get("pid"):
        import psutil  # a dependency of distributed

        return psutil.pid_exists(state["pid"])
    return True
