"""Shared fixtures, and the order the test files run in.

``tiny_run`` runs the whole study once per test session with the ``tiny`` profile (real papermill,
real training on seconds of data) and yields the run folder; tests of each step's artifacts use it.

Under pytest-xdist (``make test`` runs on every core, ``--dist loadfile``) each test file runs on
one worker, so a module's own costly fixture (a sweep, a Dask cluster's story, the pedal run) is
made once. The tiny run is made once for all workers: the first worker that needs it builds it in
a folder the workers share, under a file lock; another that needs it meanwhile waits and then reads
it. (``--dist loadgroup`` with ``xdist_group`` marks would keep the tiny run's tests on one
worker, but pytest-xdist 3.8 does not group under pytest 9.2: it renames ``item._nodeid``, which
pytest 9 no longer reads. Measured: the marked tests ran on both workers.)

The files that take longest run first (:data:`LONGEST_FIRST`, with ``--no-loadscope-reorder``, which
the Makefile passes): with two workers, a long file started last would leave one worker idle at
the end.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


#: Fixtures that are whole papermill runs: the tests using them are marked slow.
SHARED_RUNS = ("tiny_run", "tiny_run_result")


def pytest_itemcollected(item):
    if any(name in SHARED_RUNS for name in getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.slow)


#: Test files that take longest (measured with ``--durations``), run in this order before the
#: others: the pedal study, the files that use the tiny run (the first builds it), the sweeps, the
#: browser.
LONGEST_FIRST = ("test_pedal_pipeline.py", "test_gear.py", "test_training.py", "test_sweep.py",
                 "test_listening.py", "test_sweep_cluster.py", "test_jax_backend.py",
                 "test_pipeline.py", "test_browser.py", "test_evaluate.py", "test_capture.py",
                 "test_graybox.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.path)).name, len(rank)))  # stable


@pytest.fixture(scope="session")
def reports_dir(tmp_path_factory) -> Path:
    """A reports folder of the session's own (its _cache is shared by the session's runs)."""
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory) -> Path:
    """A folder every xdist worker of this session shares (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared"
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture(scope="session")
def tiny_run_result(shared_dir):
    """The :class:`fxlab.pipeline.RunResult` of the whole tiny profile, run once per session (once
    for all xdist workers: the first builds it under a lock, the others read it)."""
    import pickle

    from fxlab import pipeline
    from fxlab.datacache import cache_lock

    reports = shared_dir / "reports"
    done = shared_dir / "tiny-run.pickle"
    with cache_lock(done):
        if done.exists():
            return pickle.loads(done.read_bytes())
        result = pipeline.run("tiny", run_id="tiny", reports_dir=reports, log=lambda m: None,
                              link_latest=False)
        done.write_bytes(pickle.dumps(result))
        return result


@pytest.fixture(scope="session")
def tiny_run(tiny_run_result) -> Path:
    """The run folder of the tiny profile's run (see ``tiny_run_result``)."""
    return tiny_run_result.run_dir
