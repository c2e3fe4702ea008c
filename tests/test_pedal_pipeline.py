"""The ``pedal`` profile end to end at toy sizes: real papermill, real training, the drive at its gains."""

from __future__ import annotations

import json

import pytest

from fxlab import pipeline

#: The pedal profile shrunk to seconds: the knob grid and held-out gains are the profile's own.
TINY = {"train_set": "tiny", "val1_seconds": 0.5, "val2_seconds": 0.5, "plot_seconds": 0.25,
        "sample_units": 8, "sample_minutes": 0.0, "sample_epochs": 1, "figure_seconds": 0.5,
        "player_seconds": 0.5, "response_seconds": 0.25, "recordings_peak_dbfs": None}


@pytest.fixture(scope="module")
def pedal_run(reports_dir):
    return pipeline.run("pedal", run_id="pedal-tiny", overrides=TINY, steps=["01", "02", "03"],
                        reports_dir=reports_dir, log=lambda m: None, link_latest=False)


def test_pedal_profile_is_the_drive_conditioned_on_its_gain():
    steps = dict(pipeline.plan("pedal"))
    assert steps["01_synthesize_data"]["effect"] == "drive"
    assert steps["01_synthesize_data"]["knobs"] == "gain_db"
    assert steps["02_train"]["models"] == "lstm,gru,tcn"


def test_pedal_run_trains_conditioned_models_and_reports_them(pedal_run):
    assert pedal_run.ok, pedal_run.failed_step
    run = pedal_run.run_dir
    manifest = json.loads((run / "data" / "manifest.json").read_text())
    assert [s["gain_db"] for s in manifest["conditioning"]["val_settings"]] == [15.0, 35.0]
    for name in ("lstm", "gru", "tcn"):
        cfg = json.loads((run / "models" / name / "config.json").read_text())
        assert cfg["model"]["knobs"] == 1 and cfg["knobs"][0]["name"] == "gain_db"
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["models"]) == {"lstm", "gru", "tcn"}
    report = pedal_run.report.read_text()
    assert "knob grid" in report and "Harmonics at gain_db = 20" in report
