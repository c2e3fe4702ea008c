"""Parameter sweeps: the spec and its errors, the comparison's statistics, notebook 06, and a real
4-point sweep on a LocalCluster of 2 workers (one point failing on purpose), rerun."""

from __future__ import annotations

import csv
import json
import os
import re

import nbformat
import pytest
import yaml

from fxlab import cli, pipeline, sweep
from fxlab.errors import ParameterError, UnknownNameError

#: The test sweep: the tiny profile's steps 01-03 (data, training, evaluation; the listening test
#: and the latency step add nothing a sweep needs and would double the time), one model, and a point
#: whose training set does not exist, so its first step fails.
SPEC = {
    "description": "two widths, two seeds, and a point that fails on purpose",
    "profile": "tiny",
    "steps": ["01", "02", "03"],
    "parameters": {"models": "lstm"},
    "points": [
        {"sample_units": 4, "seed": 0},
        {"sample_units": 8, "seed": 0},
        {"sample_units": 8, "seed": 1},
        {"sample_units": 8, "seed": 0, "train_set": "no_such_set"},
    ],
}
FAILING = "sample_units-8_seed-0_train_set-no_such_set"


def _spec(tmp_path, doc, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def test_grid_crossed_with_points_names_each_point_by_its_values(tmp_path):
    path = _spec(tmp_path, {"profile": "tiny", "steps": [1, 2], "parameters": {"models": "lstm"},
                            "points": [{"loss": "esr"}, {"loss": "mse"}],
                            "grid": {"sample_units": [4, 8], "seed": [0, 1, 2]}})
    spec = sweep.load_spec(path)
    assert spec.steps == ["01_synthesize_data", "02_train"]
    assert spec.swept == ["loss", "sample_units", "seed"]
    assert len(spec.points) == 12 and len({p.name for p in spec.points}) == 12
    first = spec.points[0]
    assert first.name == "loss-esr_sample_units-4_seed-0"
    assert first.overrides == {"models": "lstm", "loss": "esr", "sample_units": 4, "seed": 0}
    assert sweep.load_spec(path).points == spec.points  # the same names on every reading


@pytest.mark.parametrize("path", sorted((pipeline.notebooks_dir().parent / "sweeps").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_sweep_specs_load(path):
    spec = sweep.load_spec(path)
    assert spec.description and len(spec.points) > 1


def test_long_point_names_are_cut_and_stay_unique():
    a = sweep.point_name({"models": "lstm,gru,tcn,thesis_lstm_reduced,thesis_gru,thesis_cnn", "seed": 0})
    b = sweep.point_name({"models": "lstm,gru,tcn,thesis_lstm_reduced,thesis_gru,thesis_cnn", "seed": 1})
    assert len(a) <= 80 and a != b
    assert re.fullmatch(r"[A-Za-z0-9._-]+", a)


@pytest.mark.parametrize("doc, error, text", [
    ("profile: [tiny", ParameterError, "invalid YAML"),
    ("- a\n- b\n", ParameterError, "a list"),
    ({"profile": "tiny", "grid": {"seed": [0]}, "epochs": 3}, ParameterError, "unknown keys ['epochs']"),
    ({"grid": {"seed": [0, 1]}}, ParameterError, "no 'profile'"),
    ({"profile": "tiny"}, ParameterError, "neither 'grid' nor 'points'"),
    ({"profile": "tiny", "grid": {"seed": 3}}, ParameterError, "grid.seed = 3"),
    ({"profile": "tiny", "grid": {"seed": [0, 0]}}, ParameterError, "repeats a value"),
    ({"profile": "tiny", "points": [{"seed": 0}, "seed=1"]}, ParameterError, "points[1]"),
    ({"profile": "tiny", "points": [{"seed": 0}, {"seed": 0}]}, ParameterError, "twice"),
    ({"profile": "tiny", "parameters": {"seed": 1}, "grid": {"seed": [0, 1]}}, ParameterError,
     "both in 'parameters' and swept"),
    ({"profile": "tiny", "points": [{"seed": 0}], "grid": {"seed": [1]}}, ParameterError,
     "which the grid sweeps too"),
    ({"profile": "tiny", "grid": {"run_dir": ["a", "b"]}}, ParameterError, "run_dir"),
    ({"profile": "tinyy", "grid": {"seed": [0]}}, UnknownNameError, "unknown profile 'tinyy'"),
    ({"profile": "tiny", "steps": ["07"], "grid": {"seed": [0]}}, UnknownNameError, "unknown step '07'"),
    ({"profile": "tiny", "grid": {"sample_unitz": [4, 8]}}, UnknownNameError, "sample_unitz"),
    ({"profile": "tiny", "grid": {"sample_units": [4, "wide"]}}, ParameterError,
     "point {'sample_units': 'wide'}"),
])
def test_bad_spec_is_a_clear_error_naming_the_file(tmp_path, doc, error, text):
    path = _spec(tmp_path, doc)
    with pytest.raises(error) as info:
        sweep.load_spec(path)
    assert text in str(info.value) and str(path) in str(info.value)
    assert "Fix:" in str(info.value)


def test_missing_spec_and_bad_spec_on_the_command_line_exit_2(tmp_path, capsys):
    assert cli.main(["sweep", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err
    path = _spec(tmp_path, {"profile": "tiny", "grid": {"sample_unitz": [4]}})
    assert cli.main(["sweep", str(path), "--reports", str(tmp_path / "r")]) == 2
    assert "sample_unitz" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # nothing ran
    path = _spec(tmp_path, {"profile": "tiny", "grid": {"seed": [0]}})
    assert cli.main(["sweep", str(path), "--workers", "0", "--reports", str(tmp_path / "r")]) == 2
    assert "--workers 0" in capsys.readouterr().err


def test_a_scheduler_whose_workers_run_several_threads_is_refused(tmp_path):
    """A point sets its process's environment and stderr, so each worker must run one point at a
    time: a cluster of two-thread workers is refused with the fix, before any point is queued."""
    from distributed import LocalCluster

    from fxlab.errors import PipelineError

    path = _spec(tmp_path, {"profile": "tiny", "steps": [1], "grid": {"seed": [0, 1]}})
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with pytest.raises(PipelineError, match="--nthreads 1"):
            sweep.run_sweep(path, reports_dir=tmp_path / "r", scheduler=cluster.scheduler_address,
                            log=lambda m: None)
    assert not (tmp_path / "r" / "spec" / "seed-0" / "point.json").exists()


def test_a_point_whose_sweep_was_stopped_before_it_started_runs_nothing(tmp_path):
    """A task that starts after Ctrl-C (its stop file is there) records itself interrupted and
    leaves its process's environment and the run folder alone."""
    stop = tmp_path / ".stop-client"
    stop.write_text("stopped\n")
    before = dict(os.environ)
    state = sweep.run_point({"name": "seed-0", "swept": {"seed": 0}, "overrides": {"seed": 0}},
                            profile="tiny", steps=["01_synthesize_data"], sweep_dir=str(tmp_path),
                            cache_dir=str(tmp_path / "_cache"), stop_file=str(stop))
    assert state["status"] == "interrupted" and "not started" in state["error"]
    assert sweep.read_point(tmp_path / "seed-0") == state
    assert not (tmp_path / "seed-0" / "run.json").exists() and dict(os.environ) == before


def test_spread_is_the_mean_and_students_t_interval():
    s = sweep.spread([1.0, 2.0, 3.0, None])
    assert s["n"] == 3 and s["mean"] == pytest.approx(2.0)
    half = 4.302652729911275 / 3**0.5  # t(0.975, 2) * sd 1 / sqrt(3)
    assert s["ci95"] == pytest.approx([2.0 - half, 2.0 + half])
    assert sweep.spread([5.0])["ci95"] is None and sweep.spread([])["mean"] is None


def test_compare_notebook_is_thin_clean_and_its_config_is_its_parameters():
    path = pipeline.notebooks_dir() / "06_compare.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None
            assert not re.search(r"^\s*(async\s+def|def|class)\s", c.source, re.M)
    import dataclasses

    declared = pipeline.notebook_parameters("06_compare")
    assert [f.name for f in dataclasses.fields(sweep.CompareConfig)] == list(declared)
    assert {"run_dir", "seed"} <= set(declared)
    with pytest.raises(UnknownNameError, match="esr_v3"):
        sweep.CompareConfig.from_parameters(declared, metrics="esr_v1,esr_v3")


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The test sweep run on a real LocalCluster of 2 workers, then run again (with the comparison)."""
    root = tmp_path_factory.mktemp("sweep")
    path = _spec(root, SPEC, "tiny4.yaml")
    lines: list[str] = []
    first = sweep.run_sweep(path, reports_dir=root / "reports", workers=2, compare=False,
                            log=lines.append)
    folder = first.sweep_dir
    stamps = {p: (folder / p / "run.json").stat().st_mtime_ns for p in first.points
              if (folder / p / "run.json").exists()}
    again = sweep.run_sweep(path, reports_dir=root / "reports", workers=2, log=lines.append)
    return first, again, stamps, lines


@pytest.mark.slow
def test_sweep_runs_points_on_two_workers_and_a_failing_point_does_not_stop_the_others(swept):
    first, _, _, lines = swept
    assert first.sweep_id == "tiny4"
    good = [n for n, p in first.points.items() if p["status"] == "ok"]
    assert good == ["sample_units-4_seed-0", "sample_units-8_seed-0", "sample_units-8_seed-1"]
    assert first.failed == [FAILING] and not first.ok
    error = first.points[FAILING]["error"]
    assert "01_synthesize_data" in error and "no_such_set" in error
    assert json.loads((first.sweep_dir / FAILING / "point.json").read_text())["error"] == error
    # each point is a run folder of its own, evaluated, with its own report
    for name in good:
        run = json.loads((first.sweep_dir / name / "run.json").read_text())
        assert run["ok"] and [s["name"] for s in run["steps"]] == ["01_synthesize_data", "02_train", "03_evaluate"]
        assert (first.sweep_dir / name / "report.html").exists()
    size = {n: json.loads((first.sweep_dir / n / "metrics.json").read_text())["models"]["lstm"]["param_count"]
            for n in good}
    assert size["sample_units-4_seed-0"] < size["sample_units-8_seed-0"] == size["sample_units-8_seed-1"]
    # run by worker processes, two at once: not this process, and two different ones
    pids = {p["pid"] for p in first.points.values()}
    assert os.getpid() not in pids and len(pids) >= 2
    # one data set per recipe (seeds 0 and 1), built once each in the shared cache
    entries = [p for p in (first.sweep_dir.parent / "_cache" / "datasets").iterdir() if p.is_dir()]
    assert len(entries) == 2
    assert any("running 02_train" in line for line in lines)
    assert any(line.startswith("[4/4 done, 1 failed]") for line in lines)


@pytest.mark.slow
def test_rerunning_the_sweep_skips_finished_points_and_retries_the_failed_one(swept):
    first, again, stamps, lines = swept
    assert again.skipped == ["sample_units-4_seed-0", "sample_units-8_seed-0", "sample_units-8_seed-1"]
    for name, stamp in stamps.items():
        if name != FAILING:
            assert (again.sweep_dir / name / "run.json").stat().st_mtime_ns == stamp  # not rerun
    assert (again.sweep_dir / FAILING / "run.json").stat().st_mtime_ns != stamps[FAILING]  # retried
    assert again.failed == [FAILING]
    assert any("3 finished earlier, not rerun" in line for line in lines)


@pytest.mark.slow
def test_comparison_report_table_csv_and_plots(swept):
    _, again, _, _ = swept
    folder = again.sweep_dir
    assert not again.compare_error and again.report == folder / "sweep.html"
    html = again.report.read_text()
    for name in again.points:
        assert name in html
    assert "href='sample_units-8_seed-1/report.html'" in html
    assert "did not finish" in html and "no_such_set" in html
    assert "<img src='data:image/png;base64," in html  # the plot against sample_units
    assert (folder / "figures" / "sample_units.png").exists()
    with open(folder / "sweep.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["point"] for r in rows] == list(again.points)
    by_point = {r["point"]: r for r in rows}
    for name in ("sample_units-4_seed-0", "sample_units-8_seed-1"):
        lstm = json.loads((folder / name / "metrics.json").read_text())["models"]["lstm"]
        metrics = lstm["splits"]
        assert float(by_point[name]["esr_v2"]) == pytest.approx(metrics["val2"]["esr"])
        assert float(by_point[name]["lsd_v1_db"]) == pytest.approx(metrics["val1"]["lsd_db"])
        assert float(by_point[name]["visqol_v2"]) == pytest.approx(lstm["visqol"]["val2"])
    assert by_point[FAILING]["status"] == "failed" and by_point[FAILING]["esr_v1"] == ""
    assert by_point["sample_units-8_seed-0"]["param.models"] == "lstm"
    # the comparison is a notebook: rerunnable, and executed into the sweep folder
    nb = nbformat.read(folder / "notebooks" / "06_compare.ipynb", as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
