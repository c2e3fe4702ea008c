"""Sweeps on a real cluster: a Dask scheduler and two one-thread workers started as processes of
their own on 127.0.0.1 (``dask scheduler``, ``dask worker``), as a user's cluster runs them, and
``fxlab sweep SPEC --scheduler ADDRESS`` run against it.

One sweep is taken through what a cluster does to it, and each test reads one part of the story:
a worker is killed (SIGKILL) while its point trains, Dask reschedules the point and it resumes
from its checkpoint; then Ctrl-C stops the sweep (a ``KeyboardInterrupt`` raised from the
client's wait loop), the running point is stopped and marked ``interrupted``; then the same
command resumes it, skips the finished point, and writes the sweep report.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import yaml

from fxlab import cli
from fxlab.sweep import execute

#: One short point and one long one, the tiny profile's data and training steps, one small model.
#: Both points build the same data set (one builds it, the other links it).
EPOCHS = 14
SHORT, LONG = "sample_epochs-1", f"sample_epochs-{EPOCHS}"
SPEC = {
    "description": "a short point and a long one, on an external cluster",
    "profile": "tiny",
    "steps": ["01", "02"],
    "parameters": {"models": "lstm", "sample_units": 4},
    "points": [{"sample_epochs": 1}, {"sample_epochs": EPOCHS}],
}
#: Bounds on each step of the story: the cluster's start, and each run of the sweep's client.
START_S, SWEEP_S = 90, 300


@dataclass
class Cluster:
    address: str
    workers: list[subprocess.Popen]  # the `dask worker` processes (each a nanny of one worker)
    root: Path

    def owns(self, pid: int) -> bool:
        """True when ``pid`` is a worker process of this cluster's (a child of one of its nannies)."""
        try:
            return psutil.Process(pid).ppid() in {w.pid for w in self.workers}
        except psutil.Error:
            return False

    def kernels(self) -> list[psutil.Process]:
        """The notebook kernels the workers are running now."""
        found = []
        for w in self.workers:
            with contextlib.suppress(psutil.Error):
                for p in psutil.Process(w.pid).children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        if p.status() != psutil.STATUS_ZOMBIE and any("ipykernel" in a for a in p.cmdline()):
                            found.append(p)
        return found


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers (``--nthreads 1 --nworkers 1``), loopback only, no dashboards;
    ended (SIGTERM, then SIGKILL of their process groups) when the module's tests are done."""
    from distributed import Client

    root = tmp_path_factory.mktemp("cluster")
    dask = str(Path(sys.executable).with_name("dask"))
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        with open(root / f"{name}.log", "wb") as log:
            proc = subprocess.Popen([dask, *args], stdout=log, stderr=subprocess.STDOUT, cwd=root,
                                    start_new_session=True)
        procs.append(proc)
        return proc

    try:
        scheduler_file = root / "scheduler.json"
        scheduler = start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", "0",
                          "--no-dashboard", "--scheduler-file", str(scheduler_file))
        deadline = time.monotonic() + START_S
        while not scheduler_file.exists():
            assert scheduler.poll() is None, (root / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        workers = [start(f"worker-{i}", "worker", address, "--nthreads", "1", "--nworkers", "1",
                         "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(root / f"w{i}"))
                   for i in (1, 2)]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=START_S)
        yield Cluster(address, workers, root)
    finally:  # the workers first, while their scheduler still answers
        for group in (procs[1:], procs[:1]):
            for proc in group:
                if proc.poll() is None:
                    proc.terminate()
            for proc in group:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)


def _history(point_dir: Path) -> list[dict]:
    """The long point's model's ``history.csv`` rows, as text (written atomically: whole or absent)."""
    try:
        with open(point_dir / "models" / "lstm" / "history.csv", newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def _watching(mp: pytest.MonkeyPatch, act, seconds: float) -> None:
    """Call ``act(name, state)`` after every progress update of the sweep client's wait loop (one
    per open point and poll); past ``seconds``, end the client with TimeoutError."""
    original = execute._Progress.update
    deadline = time.monotonic() + seconds

    def update(self, name, state):
        original(self, name, state)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the sweep took more than {seconds} s")
        act(name, state)

    mp.setattr(execute._Progress, "update", update)


def _fxlab(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(list(argv))
    return rc, out.getvalue(), err.getvalue()


@dataclass
class Story:
    cluster: Cluster
    spec: Path
    sweep_dir: Path
    argv: list[str]
    killed: dict = field(default_factory=dict)       # pid, rows: the long point's history then
    stopped: dict = field(default_factory=dict)      # pid, rows: at Ctrl-C
    first: tuple = ()                                # (rc, out, err) of the stopped run
    first_docs: dict = field(default_factory=dict)   # sweep.json and point.json files after it
    kernels_after_stop: list = field(default_factory=list)
    stop_files: list = field(default_factory=list)
    second: tuple = ()                               # (rc, out, err) of the resumed run


@pytest.fixture(scope="module")
def story(cluster):
    """The sweep on the cluster: its long point's worker killed once the point has trained two
    epochs; Ctrl-C once the resumed point has trained two more (and the short point is done); then
    the same command again."""
    root = cluster.root
    spec = root / "cluster.yaml"
    spec.write_text(yaml.safe_dump(SPEC, sort_keys=False))
    reports = root / "reports"
    argv = ["sweep", str(spec), "--scheduler", cluster.address, "--reports", str(reports)]
    s = Story(cluster, spec, reports / "cluster", argv)
    done: set[str] = set()

    def kill_then_stop(name: str, state: dict | None) -> None:
        if not state:
            return
        if state.get("status") == "ok":
            done.add(name)
        training = name == LONG and state.get("status") == "running" and state.get("step") == "02_train"
        if not training:
            return
        rows = _history(s.sweep_dir / LONG)
        if not s.killed and len(rows) >= 2:
            assert cluster.owns(state["pid"]), state  # a worker process of ours, running the point
            s.killed.update(pid=state["pid"], rows=rows)
            os.kill(state["pid"], signal.SIGKILL)
        elif s.killed and state["pid"] != s.killed["pid"] and len(rows) >= len(s.killed["rows"]) + 2 \
                and SHORT in done:
            s.stopped.update(pid=state["pid"], rows=rows)
            raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        _watching(mp, kill_then_stop, SWEEP_S)
        s.first = _fxlab(*argv)
    s.kernels_after_stop = cluster.kernels()
    s.stop_files = sorted(p.name for p in s.sweep_dir.glob(".stop-*"))
    s.first_docs = {f: json.loads((s.sweep_dir / f).read_text())
                    for f in ("sweep.json", f"{SHORT}/point.json", f"{LONG}/point.json")}
    with pytest.MonkeyPatch.context() as mp:
        _watching(mp, lambda name, state: None, SWEEP_S)
        s.second = _fxlab(*argv)
    return s


@pytest.mark.slow
def test_ctrl_c_stops_the_running_points_marks_them_interrupted_and_says_how_to_resume(story):
    rc, out, err = story.first
    assert story.stopped, f"the sweep ended before Ctrl-C: {out}\n{err}"
    assert rc == 130
    assert f"to resume them (finished points are skipped): fxlab sweep {story.spec} --sweep-id cluster" \
           f" --reports {story.sweep_dir.parent} --scheduler {story.cluster.address}" in err
    doc = story.first_docs["sweep.json"]
    assert doc["interrupted"] is True
    assert doc["points"][SHORT]["status"] == "ok" == story.first_docs[f"{SHORT}/point.json"]["status"]
    assert doc["points"][LONG] == story.first_docs[f"{LONG}/point.json"]
    assert doc["points"][LONG]["status"] == "interrupted"
    assert "interrupted in step 02_train" in doc["points"][LONG]["error"]  # the worker's own word
    # the point stopped on its worker, not just in the client's books: no kernel runs, no stop file
    # is left waiting, and its training ended mid-way (resumed below)
    assert story.kernels_after_stop == [] and story.stop_files == []
    assert 2 <= len(story.stopped["rows"]) < EPOCHS


@pytest.mark.slow
def test_a_point_whose_worker_is_killed_is_rescheduled_and_resumes_from_its_checkpoint(story):
    assert story.killed, "the long point never trained two epochs"
    assert story.stopped["pid"] != story.killed["pid"] and story.cluster.owns(story.stopped["pid"])
    final = _history(story.sweep_dir / LONG)
    assert [int(r["epoch"]) for r in final] == list(range(1, EPOCHS + 1))  # every epoch once, none again
    # the epochs checkpointed before the kill and before Ctrl-C are kept as they were (their
    # timings too): training went on from the checkpoint each time, not from the start
    for snapshot in (story.killed["rows"], story.stopped["rows"]):
        checkpointed = snapshot[:-1]  # history.csv is written just before the checkpoint
        assert checkpointed and final[:len(checkpointed)] == checkpointed


@pytest.mark.slow
def test_rerunning_the_command_resumes_the_sweep_on_the_clusters_workers_and_reports_it(story):
    rc, out, err = story.second
    assert rc == 0, err
    assert f"1 finished earlier, not rerun: {SHORT}" in out
    doc = json.loads((story.sweep_dir / "sweep.json").read_text())
    assert doc["skipped"] == [SHORT] and doc["scheduler"] == story.cluster.address
    for name in (SHORT, LONG):
        state = json.loads((story.sweep_dir / name / "point.json").read_text())
        assert state["status"] == "ok" and doc["points"][name]["status"] == "ok"
        assert state["pid"] != os.getpid() and story.cluster.owns(state["pid"])  # on the workers
        run = json.loads((story.sweep_dir / name / "run.json").read_text())
        assert run["ok"] and [s["name"] for s in run["steps"]] == ["01_synthesize_data", "02_train"]
    assert (story.sweep_dir / "sweep.html").exists() and f"sweep report: {story.sweep_dir / 'sweep.html'}" in out
    assert "interrupted" not in doc
