"""Shared fixtures.

``tiny_run`` runs the whole study once per test session with the ``tiny`` profile (real papermill,
real training on seconds of data) and yields the run folder; tests of each step's artifacts use it.

Under pytest-xdist (``make test`` runs on every core, ``--dist loadfile``) each test file runs on
one worker, so a module's own costly fixture (a sweep, a Dask cluster's story, the pedal run, the
JAX run) is made once; a session fixture such as ``tiny_run`` is made once per worker whose files
use it. (``--dist loadgroup`` with ``xdist_group`` marks would keep the tiny run's tests on one
worker, but pytest-xdist 3.8 does not group under pytest 9.2: it renames ``item._nodeid``, which
pytest 9 no longer reads. Measured: the marked tests ran on both workers.)
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


@pytest.fixture(scope="session")
def reports_dir(tmp_path_factory) -> Path:
    """A reports folder of the session's own (its _cache is shared by the session's runs)."""
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="session")
def tiny_run_result(reports_dir):
    """The :class:`fxlab.pipeline.RunResult` of the whole tiny profile, run once per session."""
    from fxlab import pipeline

    return pipeline.run("tiny", run_id="tiny", reports_dir=reports_dir, log=lambda m: None)


@pytest.fixture(scope="session")
def tiny_run(tiny_run_result) -> Path:
    """The run folder of the tiny profile's run (see ``tiny_run_result``)."""
    return tiny_run_result.run_dir
