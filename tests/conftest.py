"""Shared fixtures.

``tiny_run`` runs the whole study once per test session with the ``tiny`` profile (real papermill,
real training on seconds of data) and yields the run folder; tests of each step's artifacts use it.

Under pytest-xdist (``make test`` runs on every core) a session or module fixture is made once per
worker that needs it, so every test that uses the tiny run is put in one xdist group (and those of
a module that use its sweep, cluster or pedal run in another): with ``--dist loadgroup`` each group
runs on one worker and its run is made once, while the other workers take the rest.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")


#: Session fixtures costly enough that the tests using them share one worker.
SHARED_RUNS = ("tiny_run", "tiny_run_result")
#: Module fixtures as costly (a sweep, a Dask cluster's story, the pedal run): the tests of one
#: module that use them share one worker too, so each is made once, not once per worker.
SHARED_MODULE_RUNS = ("swept", "cluster", "story", "pedal_run")


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = getattr(item, "fixturenames", ())
        if any(name in SHARED_RUNS for name in names):
            item.add_marker(pytest.mark.xdist_group("tiny_run"))
            item.add_marker(pytest.mark.slow)  # the tiny run is a whole papermill run
        elif any(name in SHARED_MODULE_RUNS for name in names):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


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
