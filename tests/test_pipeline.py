"""The pipeline: profiles, parameter resolution, papermill runs, the report, failures."""

from __future__ import annotations

import importlib.util
import json
import re

import nbformat
import pytest
import yaml

from fxlab import cli, pipeline
from fxlab.errors import ParameterError, UnknownNameError


@pytest.mark.parametrize("name", pipeline.list_profiles())
def test_every_profile_parses_and_builds(name):
    """Each shipped profile loads, names known steps, and resolves against the notebooks' parameters."""
    prof = pipeline.load_profile(name)
    assert prof.description
    resolved = pipeline.plan(prof)
    assert [s for s, _ in resolved] == [s for s in pipeline.STEPS if s in prof.steps]
    for step, params in resolved:
        declared = pipeline.notebook_parameters(step)
        assert set(params) <= set(declared)
        assert "run_dir" in declared and "seed" in declared


def test_shipped_profiles_are_the_documented_ones():
    assert {"quick", "paper", "full", "tiny"} <= set(pipeline.list_profiles())


def test_notebooks_are_committed_clean_and_define_nothing():
    for step in pipeline.STEPS:
        path = pipeline.notebooks_dir() / f"{step}.ipynb"
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{step}: exactly one cell tagged 'parameters'"
        for c in nb.cells:
            if c.cell_type == "code":
                assert not c.outputs and c.execution_count is None, f"{step}: outputs committed"
                assert not re.search(r"^\s*(async\s+def|def|class)\s", c.source, re.M), f"{step}: def/class"


#: Notebook defaults that deliberately differ from the quick profile's resolved value, and why.
DELIBERATE_DIFFERENCES = {
    ("04_listening_test", "interactive"): "True by hand in JupyterLab (the rating widget); a batch "
                                          "run under papermill cannot show a widget, so quick sets False",
}


def test_notebook_defaults_are_the_quick_profile():
    """Running notebooks 01-05 by hand in JupyterLab runs the quick profile: each notebook default
    equals quick's resolved value, except the deliberate differences listed above."""
    resolved = pipeline.plan("quick")
    assert [s for s, _ in resolved] == list(pipeline.STEPS)
    differ = set()
    for step, params in resolved:
        defaults = pipeline.notebook_parameters(step)
        differ |= {(step, name) for name, value in params.items() if defaults[name] != value}
    assert differ == set(DELIBERATE_DIFFERENCES)


def test_quick_profile_keeps_its_sizes_and_paper_the_thesis_s():
    """The values that make quick take minutes, and the paper profile's full-size CNN and epoch
    (docs/THESIS_BUDGET.md), whatever the notebook defaults are."""
    def effective(profile, step):
        return {**pipeline.notebook_parameters(step), **dict(pipeline.plan(profile, steps=[step]))[step]}

    quick = effective("quick", "02_train")
    assert (quick["thesis_epochs"], quick["windows_per_epoch"], quick["thesis_batch"], quick["thesis_lr"],
            quick["cnn_filters"], quick["cnn_kernel"], quick["sample_epochs"],
            quick["val_windows"]) == (3, 2048, 32, 0.003, 32, 32, 12, 256)
    assert effective("quick", "01_synthesize_data")["train_set"] == "miniaudio"
    paper = effective("paper", "02_train")
    assert (paper["thesis_epochs"], paper["windows_per_epoch"], paper["thesis_batch"], paper["thesis_patience"],
            paper["cnn_filters"], paper["cnn_kernel"]) == (450, 16384, 256, 100, 0, 0)

def test_overrides_reach_only_steps_that_declare_them():
    resolved = dict(pipeline.plan("tiny", steps=["01"], overrides={"val1_seconds": 0.3}))
    assert resolved["01_synthesize_data"]["val1_seconds"] == 0.3
    assert resolved["01_synthesize_data"]["train_set"] == "tiny"  # from the profile's step block


def test_parameter_file_then_p_take_precedence(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("val1_seconds: 0.4\nplot_seconds: 0.1\n")
    resolved = dict(pipeline.plan("tiny", steps=["01"], param_files=[f], overrides={"plot_seconds": 0.2}))
    assert resolved["01_synthesize_data"]["val1_seconds"] == 0.4
    assert resolved["01_synthesize_data"]["plot_seconds"] == 0.2


def test_unknown_parameter_is_an_error_listing_known_names():
    with pytest.raises(UnknownNameError, match="unknown .*'bogus'.*train_set"):
        pipeline.plan("tiny", steps=["01"], overrides={"bogus": 1})


def test_unknown_profile_and_step_are_errors():
    with pytest.raises(UnknownNameError, match="known profiles: .*quick"):
        pipeline.load_profile("qiuck")
    with pytest.raises(UnknownNameError, match="known steps"):
        pipeline.plan("tiny", steps=["07"])


def test_a_profile_names_a_backend_for_every_step_or_for_some(tmp_path):
    quick = pipeline.load_profile("quick")
    backends, words, _ = pipeline._backends_of(quick, list(pipeline.STEPS))
    want = "jax" if importlib.util.find_spec("jax") else "tensorflow"
    assert backends["02_train"] == want and backends["05_latency"] == "tensorflow"
    assert words == ("jax for 02_train, tensorflow for the rest" if want == "jax" else "tensorflow")
    assert pipeline.load_profile("pedal").keras_backend == "jax"
    bad = tmp_path / "bad.yaml"
    bad.write_text("keras_backend: {02_train: torch}\nsteps: {02_train: {}}\n")
    with pytest.raises(ParameterError, match="keras_backend.02_train: torch"):
        pipeline.load_profile(bad)
    bad.write_text("keras_backend: {07_train: jax}\nsteps: {02_train: {}}\n")
    with pytest.raises(UnknownNameError, match="07_train"):
        pipeline.load_profile(bad)


def test_wrong_type_and_reserved_names_are_errors():
    with pytest.raises(ParameterError, match="val1_seconds.*expected a float"):
        pipeline.plan("tiny", steps=["01"], overrides={"val1_seconds": "long"})
    with pytest.raises(ParameterError, match="effect_params.*expected a dict"):
        pipeline.plan("tiny", steps=["01"], overrides={"effect_params": "order 2"})
    with pytest.raises(ParameterError, match="reserved"):
        pipeline.plan("tiny", steps=["01"], overrides={"run_dir": "/tmp/x"})


def test_parse_value_follows_papermill():
    assert pipeline.parse_value("3") == 3 and pipeline.parse_value("0.5") == 0.5
    assert pipeline.parse_value("True") is True and pipeline.parse_value("none") is None
    assert pipeline.parse_value("lstm") == "lstm"
    assert pipeline.parse_value('{"cutoff_hz": 440.0, "order": 2}') == {"cutoff_hz": 440.0, "order": 2}


def test_cli_unknown_parameter_exits_2_and_says_why(capsys, tmp_path):
    code = cli.main(["run", "--profile", "tiny", "--steps", "01", "-p", "bogus", "1",
                     "--reports", str(tmp_path)])
    assert code == 2
    assert "bogus" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing ran


@pytest.mark.slow
def test_step_01_through_papermill_writes_manifest_and_report(reports_dir, capsys):
    code = cli.main(["run", "--profile", "tiny", "--steps", "01", "--run-id", "only01",
                     "--reports", str(reports_dir)])
    out = capsys.readouterr().out
    assert code == 0, out
    run_dir = reports_dir / "only01"
    assert re.search(r"\[1/1\] 01_synthesize_data: ok", out)
    manifest = json.loads((run_dir / "data" / "manifest.json").read_text())
    assert manifest["recipe"]["train"]["set"] == "tiny"
    assert set(manifest["splits"]) == {"train", "val1", "val2"}
    info = json.loads((run_dir / "run.json").read_text())
    assert [s["status"] for s in info["steps"]] == ["ok"]
    # every parameter the step ran with is recorded, its notebook's defaults included
    ran_with = {**pipeline.notebook_parameters("01_synthesize_data"),
                **dict(pipeline.plan("tiny", steps=["01"]))["01_synthesize_data"]}
    assert info["steps"][0]["parameters"] == ran_with
    recorded = yaml.safe_load((run_dir / "params" / "01_synthesize_data.yaml").read_text())
    assert recorded == {**ran_with, "run_dir": str(run_dir.resolve())}
    html = (run_dir / "report.html").read_text()
    assert "01_synthesize_data" in html and "high-pass" in html
    assert "<audio" in html and "data:image/png;base64" in html
    assert "build_dataset(" not in html  # no code in the report
    assert (reports_dir / "latest").resolve() == run_dir.resolve()


@pytest.mark.slow
def test_failing_step_keeps_partial_notebook_and_report_says_why(reports_dir, capsys):
    code = cli.main(["run", "--profile", "tiny", "--steps", "01", "--run-id", "broken",
                     "-p", "effect", "flanger9000", "--reports", str(reports_dir)])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED" in captured.out and "flanger9000" in captured.err
    run_dir = reports_dir / "broken"
    nb = nbformat.read(run_dir / "notebooks" / "01_synthesize_data.ipynb", as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors and "UnknownNameError" in errors[0].ename
    html = (run_dir / "report.html").read_text()
    assert "Step 01_synthesize_data failed" in html and "flanger9000" in html
    assert json.loads((run_dir / "run.json").read_text())["ok"] is False


def test_tiny_profile_runs_every_step_into_one_report(tiny_run_result):
    """The whole study end to end (tiny sizes): every step ok, each one a section of the report."""
    result = tiny_run_result
    assert [s.name for s in result.steps] == list(pipeline.STEPS)
    assert all(s.status == "ok" for s in result.steps), [(s.name, s.error) for s in result.steps]
    html = result.report.read_text()
    results_at = html.index("id='results'")
    assert results_at < html.index("id='01_synthesize_data'")  # the results table comes first
    for step in pipeline.STEPS:
        assert f"<section id='{step}'" in html
    assert (result.run_dir / "logs" / "02_train.stderr.log").exists()
    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["ok"] and info["versions"]["tensorflow"].startswith("2.")


@pytest.mark.slow
def test_rerunning_a_run_resumes_training_instead_of_starting_over(tiny_run_result):
    """Rerunning step 02 into the same run folder continues from each model's checkpoint: a model
    that had finished trains no further epoch and keeps its numbers."""
    import shutil

    reports_dir = tiny_run_result.run_dir.parent  # beside the shared run, with its data cache
    shutil.copytree(tiny_run_result.run_dir, reports_dir / "tiny-again")  # leave the shared run alone
    models = reports_dir / "tiny-again" / "models"
    before = {p.name: json.loads((p / "summary.json").read_text()) for p in models.iterdir()}
    again = pipeline.run("tiny", steps=["02"], run_id="tiny-again", reports_dir=reports_dir,
                         log=lambda m: None)
    assert again.ok, again.failed_step
    for name, summary in before.items():
        after = json.loads((models / name / "summary.json").read_text())
        assert after["epochs_run"] == summary["epochs_run"], name
        assert after["best_val"] == summary["best_val"], name


def _fake_run(tmp_path, *, status="failed"):
    """A run folder with a run.json and one executed notebook, without running anything."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Data <step>"),
                nbformat.v4.new_code_cell("secret_code()", outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text="made 3 <clips>\n"),
                    nbformat.v4.new_output("display_data", data={"text/html": "<b>kept as HTML</b>"}),
                ])]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "01_synthesize_data.ipynb")
    steps = [{"name": "01_synthesize_data", "status": status, "seconds": 1.25,
              "error": "UnknownNameError: <flanger9000>" if status == "failed" else "",
              "cell": 4 if status == "failed" else None,
              "notebook": "notebooks/01_synthesize_data.ipynb", "parameters": {"seed": 0}},
             {"name": "02_train", "status": "skipped", "seconds": 0.0, "error": "", "cell": None,
              "notebook": "", "parameters": {}}]
    (tmp_path / "run.json").write_text(json.dumps({
        "run_id": "r<1>", "profile": "tiny", "description": "a & b", "started": "s",
        "finished": "f", "ok": status == "ok", "steps": steps, "versions": {"numpy": "2.4.6"}}))
    return tmp_path


def test_report_lays_out_a_failed_run_and_escapes_plain_text(tmp_path):
    from fxlab.report import build_report

    html = build_report(_fake_run(tmp_path)).read_text()
    order = [html.index(s) for s in ("<h1>fxlab report — r&lt;1&gt;</h1>", "class='banner'",
                                     "id='steps'", "<section id='01_synthesize_data'",
                                     "id='machine'")]
    assert order == sorted(order)
    assert "Step 01_synthesize_data failed in cell [4]:</b> UnknownNameError: &lt;flanger9000&gt;" in html
    assert "a &amp; b" in html and "made 3 &lt;clips&gt;" in html  # plain text escaped
    assert "<b>kept as HTML</b>" in html  # notebook HTML outputs kept
    assert "secret_code" not in html and "id='results'" not in html
    assert "<section id='02_train'" not in html  # skipped: no section
    assert "1.2 s" in html and "<td>2.4.6</td>" in html and "<td>seed</td><td>0</td>" in html


def test_report_of_a_good_run_has_no_banner(tmp_path):
    from fxlab.report import build_report

    html = build_report(_fake_run(tmp_path, status="ok")).read_text()
    assert "class='banner'" not in html and "<section id='01_synthesize_data' class=''>" in html


def test_rerunning_some_steps_keeps_the_others_in_the_report(tmp_path):
    """``fxlab run --steps 02`` in a folder whose step 01 ran before: the report still shows 01."""
    from fxlab.report import build_report

    run = _fake_run(tmp_path, status="ok")
    earlier = pipeline._earlier_steps(run, {"02_train"})
    assert [s["name"] for s in earlier] == ["01_synthesize_data"] and earlier[0]["earlier"] == "s"
    assert pipeline._earlier_steps(run, {"01_synthesize_data"}) == []  # run again: replaced
    doc = json.loads((run / "run.json").read_text())
    doc.update(steps=[{"name": "02_train", "status": "failed", "seconds": 2.0, "error": "boom",
                       "cell": 1, "notebook": "notebooks/02_train.ipynb", "parameters": {}}],
               earlier_steps=earlier, ok=False)
    nbformat.write(nbformat.v4.new_notebook(), run / "notebooks" / "02_train.ipynb")
    (run / "run.json").write_text(json.dumps(doc))
    html = build_report(run).read_text()
    assert html.index("<section id='01_synthesize_data'") < html.index("<section id='02_train'")
    assert "run earlier, started s" in html and "Step 02_train failed" in html
    (run / "notebooks" / "01_synthesize_data.ipynb").unlink()  # its notebook gone: not kept
    assert pipeline._earlier_steps(run, {"02_train"}) == []
