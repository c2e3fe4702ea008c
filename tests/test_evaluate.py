"""fxlab.evaluate on a real run folder: a tiny data set, two really trained toy models."""

import csv
import dataclasses
import json
import re

import numpy as np
import pytest
import soundfile as sf

from fxlab import evaluate, metrics
from fxlab.audio import loudest_start
from fxlab.errors import ParameterError, PipelineError, UnknownNameError

CFG = evaluate.EvalConfig(windowed_eval_seconds=0.1, response_seconds=0.25,
                          windowed_response_samples=1024, figure_seconds=0.5)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A run folder with data/ (tiny set) and models/lstm, models/thesis_gru, evaluated."""
    from fxlab import datasets, training

    run = tmp_path_factory.mktemp("run")
    data = datasets.build_dataset(run / "data", train_set="tiny", val1_seconds=1.0,
                                  val2_seconds=1.0, cache_dir=run / "_cache", log=lambda *a: None)
    quiet = {"verbose": 0, "log": lambda *a: None}
    training.train(data, run / "models" / "lstm", training.TrainConfig(
        model="lstm", model_params={"units": 4}, epochs=1, segment=1024, warmup=64,
        segments_per_epoch=4, batch_size=4, val_max_samples=4096, seed=0), **quiet)
    training.train(data, run / "models" / "thesis_gru", training.TrainConfig(
        model="thesis_gru", model_params={"units": 4, "window": 32}, loss="mse", epochs=1,
        windows_per_epoch=128, val_windows=64, batch_size=32, seed=0), **quiet)
    ev = evaluate.evaluate_run(dataclasses.replace(CFG, run_dir=str(run)))
    return run, ev


@pytest.mark.slow
def test_evaluation_writes_rendered_audio_metrics_and_figures(small_run):
    run, ev = small_run
    m = json.loads((run / "metrics.json").read_text())
    assert sorted(m["models"]) == ["lstm", "thesis_gru"]
    assert m["models"]["lstm"]["family"] == "sample"
    assert m["models"]["thesis_gru"]["family"] == "windowed"
    for name, e in m["models"].items():
        for split in ("val1", "val2"):
            y, sr = sf.read(run / "rendered" / name / f"{split}.wav", dtype="float32")
            assert sr == 44100
            assert y.size == round(e["splits"][split]["seconds"] * sr)
        r = e["response"]
        assert r["below_db"] >= 0 and r["above_db"] >= 0
        assert r["level_dbfs"] == CFG.response_level_dbfs
    # the sample-level model ran on whole clips, the windowed one on 0.1 s excerpts
    assert m["models"]["lstm"]["splits"]["val2"]["whole_clip"] is True
    assert m["models"]["thesis_gru"]["splits"]["val2"]["seconds"] == pytest.approx(0.1)
    assert m["models"]["lstm"]["render"]["val2"]["path"] == "numba"
    assert m["models"]["thesis_gru"]["render"]["val2"]["path"] == "keras"
    assert m["reference_response"]["source"] == "the effect's transfer function"
    names = {f.path.name for f in ev.figures}
    assert {"responses.png", "comparison.png", "band_errors_val2.png",
            "time_lstm_val2.png", "spectra_thesis_gru_val2.png"} <= names
    assert all(f.path.exists() and f.caption for f in ev.figures)


@pytest.mark.slow
def test_metrics_json_and_csv_hold_the_numbers_of_the_rendered_audio(small_run):
    run, _ = small_run
    m = json.loads((run / "metrics.json").read_text())
    target, _ = sf.read(run / "rendered" / "target" / "val2.wav", dtype="float32")
    y, sr = sf.read(run / "rendered" / "lstm" / "val2.wav", dtype="float32")
    e = m["models"]["lstm"]["splits"]["val2"]
    assert e["mse"] == pytest.approx(metrics.mse(target, y), rel=1e-9)
    assert e["esr"] == pytest.approx(metrics.esr(target, y), rel=1e-9)
    assert e["lsd_db"] == pytest.approx(metrics.log_spectral_distance(target, y, sr=sr), rel=1e-9)
    assert 0.0 <= e["accuracy_12bit"] <= 1.0
    # the windowed model's excerpt is where the metrics say it is
    g = m["models"]["thesis_gru"]["splits"]["val2"]
    yg, _ = sf.read(run / "rendered" / "thesis_gru" / "val2.wav", dtype="float32")
    start = round(g["start_s"] * sr)
    assert g["mse"] == pytest.approx(metrics.mse(target[start:start + yg.size], yg), rel=1e-9)
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    got = {(r["model"], r["split"], r["metric"]): r["value"] for r in rows}
    assert float(got[("lstm", "val2", "mse")]) == pytest.approx(e["mse"])
    assert ("lstm", "val1", "band_1e+03Hz") in got
    assert sum(r["family"] == "thesis" for r in rows) == 4


@pytest.mark.slow
def test_rendering_through_the_runtime_equals_keras(small_run):
    from fxlab import training

    run, _ = small_run
    trained = training.load_trained(run / "models" / "lstm")
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 3000).astype(np.float32)
    fast, how = evaluate.render(trained, x)
    assert how == "numba"
    keras_out = np.asarray(trained.model.predict_on_batch(x[None, :, None])).ravel()
    np.testing.assert_allclose(fast, keras_out, atol=1e-5)


@pytest.mark.slow
def test_results_table_has_a_row_per_model_and_the_thesis_rows(small_run):
    run, _ = small_run
    latency = {"thesis": {"rtf": 35.28}, "models": {"lstm": {"summary": {"rtf": 0.0123}}},
               "measurements": [{"model": "thesis_gru", "block_size": 1, "rtf": 0.0456}]}
    (run / "latency.json").write_text(json.dumps(latency))
    try:
        table = evaluate.results_table_html(run)
    finally:
        (run / "latency.json").unlink()
    tables = re.findall(r"<table.*?</table>", table, flags=re.S)
    # this run's results, the real instruments, ViSQOL, then the thesis's networks three ways
    assert len(tables) == 4 and "Real instruments" in tables[1] and "MOS-LQO" in tables[2]
    body = re.findall(r"<tr.*?</tr>", tables[0], flags=re.S)[1:]  # the header row first
    assert len(body) == 2
    assert "<b>lstm</b>" in body[0] and "<b>thesis_gru</b>" in body[1]
    assert "0.0123" in body[0] and "0.0123" not in body[1]
    assert "0.0456" not in table  # only a model's summary RTF is quoted
    three = re.findall(r"<tr.*?</tr>", tables[3], flags=re.S)[1:]
    thesis = [r for r in three if "fxlab-thesis" in r]
    assert len(thesis) == 4
    for value in ("7.9e-05", "0.00303", "0.007823", "0.01905"):  # as the thesis prints them
        assert sum(value in r for r in thesis) == 1
    assert sum("this run (thesis_gru)" in r for r in three) == 1
    for question in ("Does the network preserve the frequency spectrum?",
                     "Does fxlab reproduce the thesis's networks?", "Which architecture does best?"):
        assert question in table
    m = json.loads((run / "metrics.json").read_text())
    best = min(m["combined"]["models"], key=lambda n: m["combined"]["models"][n]["mse"])
    assert f"{best} (" in m["answers"]["best"]


@pytest.mark.slow
def test_the_thesis_measure_is_taken_on_the_same_stretch_for_every_model(small_run):
    run, _ = small_run
    m = json.loads((run / "metrics.json").read_text())
    c = m["combined"]
    assert c["order"] == ["val2", "val1"] and not c["whole_clips"]
    # the windowed model was scored on 0.1 s excerpts: every model is measured there
    assert all(v["seconds"] == pytest.approx(0.1) for v in c["stretches"].values())
    sr = m["sr"]
    t, y = [], []
    for split in c["order"]:
        st = c["stretches"][split]
        whole_t, _ = sf.read(run / "rendered" / "target" / f"{split}.wav", dtype="float32")
        whole_y, _ = sf.read(run / "rendered" / "lstm" / f"{split}.wav", dtype="float32")
        a, n = round(st["start_s"] * sr), round(st["seconds"] * sr)
        t.append(whole_t[a:a + n])
        y.append(whole_y[a:a + n])
    expect = float(np.mean((np.concatenate(t).astype(np.float64) - np.concatenate(y)) ** 2))
    assert c["models"]["lstm"]["mse"] == pytest.approx(expect, rel=1e-6)


@pytest.mark.slow
def test_the_thesis_measure_on_the_loudest_excerpt_compares_whole_clip_runs(small_run, tmp_path):
    from fxlab.evaluate.reference import export_reference

    run, _ = small_run
    m = json.loads((run / "metrics.json").read_text())
    c, sr = m["combined_excerpts"], m["sr"]
    assert CFG.combined_excerpt_seconds == 0.05 and not c["whole_clips"]
    for split, st in c["stretches"].items():  # the loudest 0.05 s of each whole clip
        wet, _ = sf.read(run / "rendered" / "target" / f"{split}.wav", dtype="float32")
        n = round(0.05 * sr)
        assert round(st["seconds"] * sr) == n
        assert round(st["start_s"] * sr) == loudest_start(wet, n, hop=sr // 100)
    # lstm was rendered on the whole clips, so it covers the stretch; the value is recomputable
    t, y = [], []
    for split in c["order"]:
        a, n = round(c["stretches"][split]["start_s"] * sr), round(0.05 * sr)
        t.append(sf.read(run / "rendered" / "target" / f"{split}.wav", dtype="float32")[0][a:a + n])
        y.append(sf.read(run / "rendered" / "lstm" / f"{split}.wav", dtype="float32")[0][a:a + n])
    expect = float(np.mean((np.concatenate(t).astype(np.float64) - np.concatenate(y)) ** 2))
    assert c["models"]["lstm"]["mse"] == pytest.approx(expect, rel=1e-6)
    assert set(c["models"]) | set(c["left_out"]) == {"lstm", "thesis_gru"}
    # the reference export recomputes the same numbers from the rendered WAVs alone
    m.pop("combined_excerpts")
    (tmp_path / "run").mkdir()
    for sub in ("rendered", "models"):
        (tmp_path / "run" / sub).symlink_to(run / sub)
    (tmp_path / "run" / "metrics.json").write_text(json.dumps(m))
    doc = export_reference(tmp_path / "run", commit="0" * 40, command="test",
                           out=tmp_path / "ref.json", machine={"processor": "test", "cpus": 1})
    assert doc["machine"] == {"processor": "test", "cpus": 1}
    assert doc["combined_excerpts_stretches"] == c["stretches"]
    for name, v in c["models"].items():
        assert doc["models"][name]["combined_excerpts"]["mse"] == pytest.approx(v["mse"], rel=1e-9)


@pytest.mark.slow
def test_models_are_scored_on_real_instruments_they_never_heard(small_run):
    from fxlab import recordings
    from fxlab.datasets import load_dataset
    from fxlab.training import load_trained

    run, _ = small_run
    rec = json.loads((run / "metrics.json").read_text())["recordings"]
    names = recordings.list_recordings("instrument")
    assert list(rec["recordings"]) == names and "-12 dBFS" in rec["definition"]
    assert "windowed" in rec["skipped"]["thesis_gru"]  # scored on 0.1 s excerpts: not here
    lstm = rec["models"]["lstm"]
    assert set(lstm["per_recording"]) == set(names)
    # one recording, recomputed from the shipped file, the run's effect and the saved model
    x = recordings.load_recording("piano", sr=44100, peak_dbfs=-12.0)
    t = load_dataset(run / "data").effect(x, 44100)
    y = load_trained(run / "models" / "lstm").predict(x)
    assert lstm["per_recording"]["piano"] == pytest.approx(metrics.esr(t, y), rel=1e-5)
    table = str(evaluate.recordings_html(json.loads((run / "metrics.json").read_text())))
    assert "Real instruments" in table and "thesis_gru: windowed networks" in table


@pytest.mark.slow
def test_every_model_rendered_in_full_gets_a_perceptual_score(small_run):
    from fxlab import perceptual, recordings

    run, _ = small_run
    m = json.loads((run / "metrics.json").read_text())
    v, controls = m["visqol"], m["visqol_controls"]
    clips = ["val1", "val2", *recordings.list_recordings("instrument")]
    assert list(v["clips"]) == clips
    assert set(m["models"]["lstm"]["visqol"]) == set(clips)
    # the windowed model was rendered on 0.1 s excerpts: too short for ViSQOL, and said so
    assert "visqol" not in m["models"]["thesis_gru"]
    assert "0.96 s" in v["skipped"]["thesis_gru"]["val2"]
    assert all(4.6 <= s <= 5.0 for s in controls["target"].values())
    assert all(1.0 <= s < controls["target"][c] + 1e-9 for c, s in controls["dry"].items())
    # V2 recomputed from the rendered WAVs on the stretch metrics.json names
    st = v["clips"]["val2"]
    target, sr = sf.read(run / "rendered" / "target" / "val2.wav", dtype="float32")
    y, _ = sf.read(run / "rendered" / "lstm" / "val2.wav", dtype="float32")
    a, n = round(st["start_s"] * sr), round(st["seconds"] * sr)
    assert m["models"]["lstm"]["visqol"]["val2"] == pytest.approx(
        perceptual.visqol(target[a:a + n], y[a:a + n], sr=sr), abs=1e-6)
    assert v["wall_s"] > 0 and "Agreement with the ESR not computed" in v["agreement"]["sentence"]
    with open(run / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == "visqol_moslqo"]
    assert len(rows) == 3 * len(clips)  # lstm and the two controls


def test_the_reference_run_is_compared_on_this_runs_stretch_only():
    result = _fake_metrics(0.5, 0.8, 1e-6, 3.0, 1e-3)
    result["models"]["thesis_gru"] = result["models"].pop("b")
    result["combined"]["models"]["thesis_gru"] = result["combined"]["models"].pop("b")
    result["combined"]["stretches"] = {"val2": {"start_s": 0.82, "seconds": 0.05},
                                       "val1": {"start_s": 4.2, "seconds": 0.05}}
    ref_model = {"combined": {"mse": 1e-5, "esr": 1e-4},
                 "combined_excerpts": {"mse": 4e-5, "esr": 5e-4},
                 "splits": {"val1": {"whole_clip": True}, "val2": {"whole_clip": True}},
                 "training": {"family": "windowed", "epochs_run": 30, "windows_seen": 5e5,
                              "wall_s": 90.0}}
    reference = {"models": {"thesis_gru": ref_model},
                 "combined_stretches": {"val2": {"start_s": 0.0, "seconds": 4.0},
                                        "val1": {"start_s": 0.0, "seconds": 6.0}},
                 "combined_excerpts_stretches": json.loads(json.dumps(result["combined"]["stretches"])),
                 "combined_excerpts_definition": "the loudest 0.05 s"}
    assert evaluate.tables.reference_on_this_stretch(result, reference)[0] == "combined_excerpts"
    ans = evaluate.answers(result, reference=reference)
    assert "fxlab's reference run 1e-05 on the whole clips" in ans["reproduction"]
    assert "against the reference run's 4e-05 on the same samples (25× higher)" in \
        ans["reproduction"]
    table = str(evaluate.thesis_networks_html(result, reference=reference))
    row = next(r for r in table.split("<tr>") if "reference run (thesis_gru)" in r)
    assert row.index("4e-05") < row.index("1e-05")  # this run's stretch first, whole clips next
    # a run scored elsewhere gets no reference number to compare with
    result["combined"]["stretches"]["val1"]["start_s"] = 1.0
    assert evaluate.tables.reference_on_this_stretch(result, reference)[0] is None
    assert "against the reference run's" not in evaluate.answers(result, reference=reference)[
        "reproduction"]


@pytest.mark.slow
def test_audio_players_embed_the_same_excerpt_for_every_model(small_run):
    run, _ = small_run
    html = evaluate.audio_players_html(run, split="val2", seconds=0.05)
    # two groups: the whole-clip model and the excerpt-scored one, each with its own target
    assert html.count("<audio") == 4
    assert html.count("data:audio/wav;base64,") == 4
    assert html.count("target (the effect)") == 2
    assert "the excerpt these models were scored on" in html
    assert html.index("<td>lstm</td>") < html.index("<td>thesis_gru</td>")
    with pytest.raises(UnknownNameError):
        evaluate.audio_players_html(run, split="train")


def test_score_of_any_pair():
    rng = np.random.default_rng(0)
    t = rng.uniform(-0.5, 0.5, 8192).astype(np.float32)
    s = evaluate.score(t, 0.5 * t, sr=44100)
    assert s["mse"] == pytest.approx(float(np.mean((0.5 * t.astype(np.float64)) ** 2)))
    assert s["esr"] == pytest.approx(0.25)
    assert s["lsd_db"] == pytest.approx(6.0206, abs=1e-3)
    assert len(s["bands_db"]) == 31
    assert evaluate.score(np.zeros(8192), t, sr=44100)["esr"] is None  # silent target


def _fake_metrics(lsd_a, dev_a, mse_a, lsd_b, mse_b):
    def split(lsd, mse):
        return {"mse": mse, "esr": 10 * mse, "lsd_db": lsd, "accuracy_12bit": 0.5,
                "seconds": 1.0, "start_s": 0.0, "whole_clip": True}
    return {"config": {"lsd_threshold_db": 1.0, "response_threshold_db": 1.0}, "sr": 44100,
            "combined": {"definition": "MSE over V2 followed by V1", "models": {
                "a": {"mse": mse_a, "esr": 10 * mse_a}, "b": {"mse": mse_b, "esr": 10 * mse_b}}},
            "models": {
                "a": {"family": "sample", "param_count": 100,
                      "splits": {"val1": split(lsd_a, mse_a), "val2": split(lsd_a, mse_a)},
                      "response": {"below_db": dev_a, "above_db": 0.1}},
                "b": {"family": "windowed", "param_count": 1000,
                      "splits": {"val1": split(lsd_b, mse_b), "val2": split(lsd_b, mse_b)}}}}


def test_answers_follow_the_stated_thresholds():
    ans = evaluate.answers(_fake_metrics(0.5, 0.8, 1e-6, 3.0, 1e-3))
    assert ans["spectrum"].startswith("Partly: a (")
    assert "b (largest LSD 3.00 dB)" in ans["spectrum"]
    assert "a (sample, 100 parameters) does best, with MSE 1e-06" in ans["best"]
    ans = evaluate.answers(_fake_metrics(0.5, 1.5, 1e-2, 0.2, 1e-3))
    assert ans["spectrum"].startswith("Partly: b (")  # a's response is 1.5 dB off
    assert "b (windowed" in ans["best"]
    assert evaluate.answers(_fake_metrics(0.5, 0.5, 1e-3, 0.5, 1e-3))["spectrum"].startswith("Yes")
    assert evaluate.answers(_fake_metrics(5, 5, 1e-3, 5, 1e-3))["spectrum"].startswith("No")


def test_the_thesis_figures_are_compared_only_with_the_same_network_on_the_same_measure():
    result = _fake_metrics(0.5, 0.8, 1e-6, 3.0, 1e-3)
    result["models"]["thesis_gru"] = result["models"].pop("b")
    result["combined"]["models"]["thesis_gru"] = result["combined"]["models"].pop("b")
    reference = {"models": {"thesis_gru": {"combined": {"mse": 1e-4, "esr": 1e-3},
                                           "training": {"family": "windowed", "epochs_run": 3,
                                                        "windows_seen": 49152, "wall_s": 600.0}}}}
    ans = evaluate.answers(result, reference=reference, rtf={"a": 0.01, "thesis_gru": 30.0})
    assert ("GRU: the thesis reported 0.007823 (its whole clips), fxlab's reference run 0.0001 on "
            "the whole clips (78.2× lower") in ans["reproduction"]
    assert "this run 0.001 (7.82× lower" in ans["reproduction"]
    assert "reduced LSTM" not in ans["reproduction"]  # neither this run nor the reference has it
    assert "the best modern network, a (MSE 1e-06" in ans["modern"]
    assert "1e+03× lower error" in ans["modern"]
    assert "0.227 µs per output sample (RTF 0.01)" in ans["modern"]


@pytest.mark.parametrize("kwargs, error", [
    ({"windowed_eval_seconds": -1.0}, ParameterError),
    ({"recordings_peak_dbfs": 3.0}, ParameterError),
    ({"response_method": "noise"}, UnknownNameError),
    ({"response_level_dbfs": 6.0}, ParameterError),
    ({"player_seconds": 0.0}, ParameterError),
    ({"windowed_response_samples": 10}, ParameterError),
])
def test_eval_config_rejects_bad_values(kwargs, error):
    with pytest.raises(error, match="Fix:"):
        evaluate.EvalConfig(**kwargs)


def test_eval_config_fields_are_the_notebook_parameters():
    from fxlab.pipeline import notebook_parameters

    fields = [f.name for f in dataclasses.fields(evaluate.EvalConfig)]
    assert fields == list(notebook_parameters("03_evaluate"))


def test_missing_inputs_say_which_step_to_run(tmp_path):
    with pytest.raises(PipelineError, match="metrics.json.*03_evaluate"):
        evaluate.results_table_html(tmp_path)
    with pytest.raises(PipelineError, match="02_train"):
        evaluate.find_models(tmp_path)


@pytest.mark.slow
def test_tiny_run_evaluates_every_trained_model(tiny_run):
    m = json.loads((tiny_run / "metrics.json").read_text())
    trained = sorted(p.name for p in (tiny_run / "models").iterdir()
                     if (p / "model.keras").exists())
    assert sorted(m["models"]) == trained
    table = evaluate.results_table_html(tiny_run)
    for name in trained:
        assert f"<b>{name}</b>" in table
        assert (tiny_run / "rendered" / name / "val2.wav").exists()
    assert (tiny_run / "figures" / "comparison.png").exists()
    nb = json.loads((tiny_run / "notebooks" / "03_evaluate.ipynb").read_text())
    shown = json.dumps([c.get("outputs", []) for c in nb["cells"]])
    assert "fxlab-results" in shown and "image/png" in shown and "data:audio/wav" in shown
