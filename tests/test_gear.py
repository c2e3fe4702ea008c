"""The ``gear`` profiles: real third-party plugins (guitarix's LV2 Tube Screamer and compressor,
hosted through lilv) rendered with their knobs into the pedal study's data, and the study run end
to end on one of them at toy sizes (real lv2apply, real papermill, real training)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from nam_engine_support import (
    NAM_FAST_TANH_TOL,
    NAM_PREWARM,
    NAM_PREWARM_MODEL,
    engine_missing,
    play_like_nam_core,
    render,
)

from fxlab import effects, pipeline
from fxlab.audio import write_wav
from fxlab.bench.gear import CASES
from fxlab.cli import main
from fxlab.datasets import DataConfig, build_study_data
from fxlab.training import load_trained
from fxlab.training.study import check_odd

SR = 44100


def _plugin_step(profile: str) -> dict:
    return dict(pipeline.plan(profile, steps=["01"]))["01_synthesize_data"]


def _installed() -> str | None:
    why = effects.lv2_available()
    if why is not None:
        return why
    from fxlab.effects.lv2 import installed_uris

    missing = [_plugin_step(p)["effect_params"]["uri"] for p, _ in CASES.values()
               if _plugin_step(p)["effect_params"]["uri"] not in installed_uris()]
    return f"not installed: {', '.join(missing)}" if missing else None


pytestmark = pytest.mark.skipif(
    _installed() is not None, reason="guitarix's LV2 plugins or lilv's tools absent "
    "(.ci/run installs lilv-utils and guitarix-lv2)")


def _effect(profile: str):
    step = _plugin_step(profile)
    return effects.get_effect(step["effect"], **step["effect_params"])


def test_a_plugin_render_starts_settled():
    # guitarix glides its Level from its own start value over ~0.2 s; the host's second of
    # silence takes that glide, so a steady sine comes out at a steady level from sample 0
    t = np.arange(SR) / SR
    x = (0.5 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
    y = _effect("gear")(x, SR)
    assert y.shape == x.shape
    rms = [float(np.sqrt(np.mean(y[i:i + SR // 20] ** 2))) for i in range(0, SR, SR // 20)]
    assert max(rms) / min(rms) < 1.02, rms


def test_the_overdrive_is_odd_and_the_profiles_say_so():
    check_odd(_effect("gear"), sr=SR)  # raises if not
    assert dict(pipeline.plan("gear", steps=["02"]))["02_train"]["symmetry"] == "odd"
    assert dict(pipeline.plan("gear-compressor", steps=["02"]))["02_train"]["symmetry"] == "none"


@pytest.mark.parametrize("profile", ["gear", "gear-compressor"])
def test_gear_data_is_the_plugin_at_each_setting(profile, tmp_path):
    step = _plugin_step(profile)
    p01 = {**pipeline.notebook_parameters("01_synthesize_data"), **step, "train_set": "tiny",
           "run_dir": str(tmp_path / "run"), "cache_dir": str(tmp_path / "cache")}
    ds = build_study_data(DataConfig.from_parameters(p01), log=lambda m: None)
    knob = step["knobs"]
    assert [s[knob] for s in ds.conditioning["train_settings"]] == step["knob_values"][knob]
    assert ds.conditioning["val_settings"] == step["knob_holdout"]
    train = ds.split("train")
    level = []
    for s in train.settings:
        dry = train.dry[s["start"]:s["start"] + s["n"]]
        wet = train.wet[s["start"]:s["start"] + s["n"]]
        # each stretch is the plugin at that setting, rendered from silence
        np.testing.assert_allclose(wet, ds.effect.with_knobs(**s["setting"])(dry, SR), atol=1e-6)
        level.append(float(np.sqrt(np.mean(wet ** 2))))
    assert np.all(np.diff(level) > 0)  # more drive, or a higher threshold: louder


#: The gear profile shrunk to seconds (its knob grid and held-out drives are the profile's own);
#: one model, enough to show the study runs on a real plugin (the pedal profile's test runs them all).
TINY = {"train_set": "tiny", "val1_seconds": 0.5, "val2_seconds": 0.5, "plot_seconds": 0.25,
        "models": "lstm", "sample_units": 8, "sample_minutes": 0.0, "sample_epochs": 1,
        "graybox_epochs": 2, "figure_seconds": 0.5, "player_seconds": 0.5,
        "response_seconds": 0.25, "recordings_peak_dbfs": None, "aliasing_tones": 2,
        "visqol_seconds": 1.0}


@pytest.mark.slow
def test_gear_study_runs_on_the_real_plugin(reports_dir):
    res = pipeline.run("gear", run_id="gear-tiny", overrides=TINY, steps=["01", "02", "03"],
                       reports_dir=reports_dir, log=lambda m: None, link_latest=False)
    assert res.ok, res.failed_step
    run = res.run_dir
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["effect"]["name"] == "lv2" and "ts9sim" in metrics["effect"]["params"]["uri"]
    cfg = json.loads((run / "models" / "lstm" / "config.json").read_text())
    assert cfg["knobs"][0]["name"] == "fslider2_" and cfg["knobs"][0]["high"] == 1.0
    measured = json.loads((run / "aliasing.json").read_text())
    assert [s["setting"]["fslider2_"] for s in measured["settings"]] == [0.5, 0.375, 0.875]
    report = res.report.read_text()
    assert "gxts9#ts9sim" in report and "Aliasing at fslider2_ = 0.875 (never seen)" in report
    assert "Harmonics at fslider2_ = 0.375 (never seen)" in report


@pytest.mark.interop
@pytest.mark.skipif(engine_missing() is not None, reason=engine_missing() or "")
def test_nam_core_plays_a_capture_of_the_real_plugin_as_fxlab_does(tmp_path):
    """A capture of the Tube Screamer at one drive (``fxlab train ... --export nam``: a .nam holds
    no knob), played by Neural Amp Modeler's C++ core (WebAssembly, in Node) as by fxlab, within
    the core's fast-tanh tolerance (tests/test_export.py says why it is not 1e-5)."""
    rng = np.random.default_rng(3)
    x = (0.5 * rng.uniform(-1, 1, 4 * 1024)).astype(np.float32)
    fx = _effect("gear").with_knobs(fslider2_=0.5)
    write_wav(tmp_path / "dry.wav", x, SR)
    write_wav(tmp_path / "wet.wav", fx(x, SR), SR)
    out = tmp_path / "ts9"
    rc = main(["train", "--dry", str(tmp_path / "dry.wav"), "--wet", str(tmp_path / "wet.wav"),
               "--model", "lstm", "--units", "8", "--out", str(out), "--epochs", "1",
               "--latency", "0", "--segment", "256", "--batch-size", "4", "--export", "nam"])
    assert rc == 0
    path = out / "export" / "ts9.nam"  # named after the capture folder
    signal = fx(np.concatenate([x[:2000], 0.9 * np.sin(np.arange(2000) * 0.05)]).astype(np.float32), SR)
    y = render(path, signal, tmp_path)
    fast = play_like_nam_core(json.loads(path.read_text()), signal, fast=True,
                              prewarm=NAM_PREWARM_MODEL)
    silence = np.zeros(NAM_PREWARM, np.float32)
    ours = load_trained(out).predict(np.concatenate([silence, signal]))[NAM_PREWARM:]
    assert y.shape == signal.shape and np.isfinite(y).all()
    np.testing.assert_allclose(y, fast, atol=1e-5, rtol=0)
    assert float(np.abs(y - ours).max()) < NAM_FAST_TANH_TOL
