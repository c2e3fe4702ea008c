"""The ``pedal`` profile end to end at toy sizes: real papermill, real training, the drive at its gains."""

from __future__ import annotations

import json

import pytest

from fxlab import pipeline

#: The pedal profile shrunk to seconds: the knob grid and held-out gains are the profile's own.
TINY = {"train_set": "tiny", "val1_seconds": 0.5, "val2_seconds": 0.5, "plot_seconds": 0.25,
        "sample_units": 8, "sample_minutes": 0.0, "sample_epochs": 1, "graybox_epochs": 2, "figure_seconds": 0.5,
        "player_seconds": 0.5, "response_seconds": 0.25, "recordings_peak_dbfs": None,
        "aliasing_tones": 3}


@pytest.fixture(scope="module")
def pedal_run(reports_dir):
    return pipeline.run("pedal", run_id="pedal-tiny", overrides=TINY, steps=["01", "02", "03"],
                        reports_dir=reports_dir, log=lambda m: None, link_latest=False)


def test_pedal_profile_is_the_drive_conditioned_on_its_gain():
    steps = dict(pipeline.plan("pedal"))
    assert steps["01_synthesize_data"]["effect"] == "drive"
    assert steps["01_synthesize_data"]["knobs"] == "gain_db"
    assert steps["02_train"]["models"] == "lstm,gru,tcn,graybox"


def test_pedal_run_trains_conditioned_models_and_reports_them(pedal_run):
    assert pedal_run.ok, pedal_run.failed_step
    run = pedal_run.run_dir
    manifest = json.loads((run / "data" / "manifest.json").read_text())
    assert [s["gain_db"] for s in manifest["conditioning"]["val_settings"]] == [15.0, 35.0]
    for name in ("lstm", "gru", "tcn", "graybox"):
        cfg = json.loads((run / "models" / name / "config.json").read_text())
        assert cfg["model"]["knobs"] == 1 and cfg["knobs"][0]["name"] == "gain_db"
        assert cfg["model"].get("odd", 0) == (name != "graybox")  # the profile's symmetry: odd
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["models"]) == {"lstm", "gru", "tcn", "graybox"}
    report = pedal_run.report.read_text()
    assert "knob grid" in report and "Harmonics at gain_db = 20" in report
    assert "Aliasing at gain_db = 35" in report and "ASR excess" in report
    measured = json.loads((run / "aliasing.json").read_text())
    assert [s["setting"]["gain_db"] for s in measured["settings"]] == [20.0, 15.0, 35.0]
    assert set(measured["settings"][0]["models"]) == {"lstm", "gru", "tcn", "graybox"}
    assert len(measured["settings"][0]["effect"]["tones_hz"]) == 3


@pytest.mark.slow
def test_pedal_run_auditions_and_times_its_knobs(pedal_run, reports_dir):
    """Notebooks 04 and 05 on the pedal run: the knob audition's table (no listener under
    papermill) and the conditioned models timed with the gain at rest and moved every block."""
    assert pedal_run.ok, pedal_run.failed_step
    more = {"clip_seconds": 0.5, "engines": "numba", "block_sizes": "16,64", "n_blocks": 20,
            "seconds_per_config": 0.1, "max_block_seconds": 0.2}
    res = pipeline.run("pedal", run_id="pedal-tiny", overrides=more, steps=["04", "05"],
                       reports_dir=reports_dir, log=lambda m: None, link_latest=False)
    assert res.ok, res.failed_step
    run = res.run_dir
    audition = (run / "notebooks" / "04_listening_test.ipynb").read_text()
    assert "ESR of graybox against the effect" in audition  # the first conditioned model, by name
    assert "held out for validation" in audition and "seen in training" in audition
    result = json.loads((run / "latency.json").read_text())
    for name in ("lstm", "gru", "tcn"):
        assert result["models"][name]["knobs"] == ["gain_db"]
        assert result["models"][name]["summary"]["rtf_moved_64"] > 0
    latency_nb = (run / "notebooks" / "05_latency.ipynb").read_text()
    assert "The knob moved while it played: `gain_db` from 0 to 40" in latency_nb
