"""Tests of fxlab.listening: loudness, trials, seeded order, the ratings store, controls, aggregation,
the widget's logic (real ipywidgets objects, no browser), the notebook and the profiles.

The browser test is in test_browser.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
import soundfile as sf
import yaml
from browser_support import listening_config, make_run_dir
from knob_support import add_conditioned_run
from scipy.stats import binomtest

from fxlab import errors, listening, pipeline
from fxlab.listening import ANSWERS, CONTROL_DRY, CONTROL_SAME, RatingsStore
from fxlab.plots.listening import plot_aggregate

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_listening_test.ipynb"
SR = 44100


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run_dir(tmp_path_factory.mktemp("reports") / "r1", seconds=1.5)


@pytest.fixture(scope="module")
def trial_set(run_dir):
    return listening.prepare_trials(listening_config(run_dir, clip_seconds=1.0))


def _rec(rater, trial, model, answer, *, session="s-1", clip="val1", side="A", controls=2, **kw):
    return {"rater": rater, "session": session, "trial": trial, "model": model, "clip": clip,
            "side": side, "answer": answer, "time": "2026-01-01T00:00:00Z",
            "session_controls": controls, **kw}


# ---- loudness ---------------------------------------------------------------------------------


def test_k_weighting_pyloudnorm_applies_equals_bs1770_table_at_48k():
    (bs, as_), (bh, ah) = listening.k_weighting_coefficients(48000)
    # ITU-R BS.1770-4, tables 1 and 2
    np.testing.assert_allclose(bs, [1.53512485958697, -2.69169618940638, 1.19839281085285],
                               atol=1e-9)
    np.testing.assert_allclose(as_, [1.0, -1.69065929318241, 0.73248077421585], atol=1e-9)
    np.testing.assert_allclose(bh, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(ah, [1.0, -1.99004745483398, 0.99007225036621], atol=1e-9)


@pytest.mark.parametrize("sr", [44100, 48000])
def test_loudness_of_full_scale_997_hz_sine_is_minus_3(sr):
    t = np.arange(2 * sr) / sr
    x = np.sin(2 * np.pi * 997 * t)
    assert listening.loudness(x, sr=sr) == pytest.approx(-3.01, abs=0.02)
    # 6 dB quieter reads 6.02 dB lower; silence reads -inf
    assert listening.loudness(0.5 * x, sr=sr) == pytest.approx(-3.01 - 6.02, abs=0.02)
    assert listening.loudness(np.zeros(100), sr=sr) == -math.inf
    assert listening.loudness(np.zeros(sr), sr=sr) == -math.inf  # gated: every block silent


def test_loudness_is_gated_over_pauses_and_ungated_under_400_ms():
    t = np.arange(2 * SR) / SR
    tone = 0.5 * np.sin(2 * np.pi * 997 * t)
    steady = listening.loudness(tone, sr=SR)
    # a pause of the same length: the ungated mean square reads 3.01 dB lower; the gates leave
    # the silent 400 ms blocks out and keep the 17 blocks of tone and the 3 that straddle the
    # edge (3/4, 1/2 and 1/4 tone): 18.5 blocks' energy over 20 blocks
    paused = np.concatenate([tone, np.zeros(2 * SR)])
    assert listening.loudness(paused, sr=SR) == pytest.approx(
        steady + 10 * math.log10(18.5 / 20), abs=0.01)
    # shorter than one 400 ms block: pyloudnorm's gated measure refuses it, the ungated
    # K-weighted mean square through the same filters reads the same level
    assert listening.loudness(tone[: int(0.3 * SR)], sr=SR) == pytest.approx(steady, abs=0.02)
    assert listening.loudness(tone[: int(0.3 * SR)] * 0, sr=SR) == -math.inf
    assert "BS.1770-4" in listening.LOUDNESS_METHOD and "pyloudnorm" in listening.LOUDNESS_METHOD


def test_match_gains_matches_loudness_caps_peaks_and_leaves_silence_alone():
    t = np.arange(SR // 2) / SR
    quiet = 0.01 * np.sin(2 * np.pi * 997 * t)
    loud = 0.9 * np.sin(2 * np.pi * 3000 * t)
    lufs_in, gains = listening.match_gains({"a": quiet, "b": loud}, sr=SR, target_lufs=-23.0)
    after = [listening.loudness(x * 10 ** (gains[k] / 20), sr=SR)
             for k, x in (("a", quiet), ("b", loud))]
    assert after[0] == pytest.approx(after[1], abs=0.01)
    assert after[0] == pytest.approx(-23.0, abs=0.01)
    clicks = np.zeros(SR // 2)
    clicks[::SR // 10] = 0.5  # a high crest factor: matching it to -23 LUFS would clip
    lufs_in, gains = listening.match_gains({"c": clicks, "s": np.zeros(SR // 2)}, sr=SR,
                                           target_lufs=-23.0)
    common = gains["c"] - min(-23.0 - lufs_in["c"], 30.0)
    assert common < 0  # both turned down together ...
    assert 0.5 * 10 ** (gains["c"] / 20) == pytest.approx(10 ** (-1 / 20))  # ... to -1 dBFS
    assert lufs_in["s"] == -math.inf and gains["s"] == pytest.approx(common)  # silence: 0 dB


# ---- trials -----------------------------------------------------------------------------------


def test_trials_cover_models_and_controls(trial_set):
    ids = [t.id for t in trial_set.trials]
    assert sorted(ids) == sorted(
        f"{s}:{m}" for s in ("val1", "val2") for m in ("gru", "lstm", CONTROL_SAME, CONTROL_DRY))
    assert trial_set.models == ("gru", "lstm")
    assert trial_set.n_controls == 4
    same = trial_set.trial("val2:" + CONTROL_SAME)
    assert same.reference == same.candidate
    assert trial_set.trial("val1:" + CONTROL_DRY).candidate == "trials/val1/controls.wav"


def test_trial_clips_are_16_bit_loudness_matched_and_below_minus_1_dbfs(trial_set):
    for t in trial_set.trials:
        levels = []
        for rel in (t.reference, t.candidate):
            info = sf.info(trial_set.root / rel)
            assert (info.subtype, info.samplerate, info.channels) == ("PCM_16", SR, 1)
            assert info.frames == SR  # clip_seconds=1.0 fits in the 1.5 s splits
            x, _ = sf.read(trial_set.root / rel)
            assert np.max(np.abs(x)) <= 10 ** (-1 / 20) + 1e-4
            levels.append(listening.loudness(x, sr=SR))
        assert levels[0] == pytest.approx(levels[1], abs=0.05)
        assert levels[0] == pytest.approx(-23.0, abs=0.05)


def test_clip_is_cut_where_the_target_is_loudest_and_matches_the_source(run_dir, trial_set):
    info = trial_set.clips["val1"]["lstm"]
    start = round(info["start_s"] * SR)
    assert start % (SR // 4) == 0 and 0 <= start <= int(0.5 * SR)
    wet, _ = sf.read(run_dir / "data" / "val1" / "wet.wav")
    out, _ = sf.read(trial_set.root / "trials" / "val1" / "lstm.target.wav")
    gain = 10 ** (info["gain_db"]["target"] / 20)
    mid = slice(2000, SR - 2000)  # outside the 20 ms fades
    np.testing.assert_allclose(out[mid], gain * wet[start:start + SR][mid], atol=2 / 32768)


def test_prepare_trials_is_cached_and_the_session_follows_the_audio(run_dir, trial_set, tmp_path):
    mtime = os.stat(trial_set.root / "trials.json").st_mtime_ns
    again = listening.prepare_trials(listening_config(run_dir, clip_seconds=1.0))
    assert again.session == trial_set.session
    assert os.stat(trial_set.root / "trials.json").st_mtime_ns == mtime
    # another run folder with the same audio shares the session (ratings pool) ...
    copy = tmp_path / "r2"
    shutil.copytree(run_dir / "data", copy / "data")
    shutil.copytree(run_dir / "rendered", copy / "rendered")
    assert listening.prepare_trials(listening_config(copy, clip_seconds=1.0)).session == trial_set.session
    # ... a different model output makes a different session (a different waveform: a gain alone
    # is undone by the level matching, which writes the same clips)
    y, _ = sf.read(copy / "rendered" / "gru" / "val2.wav", dtype="float32")
    hum = 0.05 * np.sin(2 * np.pi * 50 * np.arange(y.size) / SR)
    sf.write(copy / "rendered" / "gru" / "val2.wav", y + hum, SR, subtype="FLOAT")
    assert listening.prepare_trials(listening_config(copy, clip_seconds=1.0)).session != trial_set.session


def test_excerpt_offsets_from_metrics_json_align_the_model_with_the_target(tmp_path):
    run = make_run_dir(tmp_path / "r", seconds=1.5, models=("lstm",))
    wet, _ = sf.read(run / "data" / "val2" / "wet.wav", dtype="float32")
    # the evaluation rendered an exact model on an excerpt from 0.5 s to 1.25 s
    sf.write(run / "rendered" / "lstm" / "val2.wav", wet[SR // 2: SR * 5 // 4], SR, subtype="FLOAT")
    (run / "rendered" / "target").mkdir()
    sf.write(run / "rendered" / "target" / "val2.wav", wet, SR, subtype="FLOAT")
    sf.write(run / "rendered" / "target" / "val1.wav", wet, SR, subtype="FLOAT")
    (run / "metrics.json").write_text(json.dumps(
        {"models": {"lstm": {"splits": {"val2": {"start_s": 0.5, "seconds": 0.75}}}}}))
    ts = listening.prepare_trials(listening_config(run, clip_seconds=1.0))
    assert ts.models == ("lstm",)  # rendered/target is not a model
    info = ts.clips["val2"]["lstm"]
    assert info["seconds"] == pytest.approx(0.75)
    assert info["start_s"] == pytest.approx(0.5)
    a, _ = sf.read(ts.root / "trials" / "val2" / "lstm.wav")
    b, _ = sf.read(ts.root / "trials" / "val2" / "lstm.target.wav")
    assert np.max(np.abs(a - b)) <= 2 / 32768  # an exact model: both sides identical


def test_model_rendered_too_short_is_left_out_unless_asked_for(tmp_path):
    run = make_run_dir(tmp_path / "r", seconds=1.0, models=("lstm", "thesis_gru"))
    y, _ = sf.read(run / "rendered" / "thesis_gru" / "val1.wav", dtype="float32")
    sf.write(run / "rendered" / "thesis_gru" / "val1.wav", y[:2205], SR, subtype="FLOAT")  # 0.05 s
    ts = listening.prepare_trials(listening_config(run, clip_seconds=0.5))
    assert "val1:thesis_gru" not in {t.id for t in ts.trials}
    assert "val2:thesis_gru" in {t.id for t in ts.trials}
    assert ts.skipped == ({"clip": "val1", "model": "thesis_gru", "seconds": 0.05},)
    assert "thesis_gru on val1 (0.05 s)" in ts.table_html()
    with pytest.raises(errors.AudioFileError,
                       match=r"thesis_gru/val1.wav.*0\.050 s.*min_clip_seconds"):
        listening.prepare_trials(listening_config(run, clip_seconds=0.5, models="lstm,thesis_gru"))
    ts = listening.prepare_trials(listening_config(run, clip_seconds=0.5, min_clip_seconds=0.05))
    assert "val1:thesis_gru" in {t.id for t in ts.trials} and ts.skipped == ()


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"models": "lstm,transformer"}, errors.UnknownNameError, ["transformer", "gru, lstm"]),
        ({"splits": "val3"}, errors.UnknownNameError, ["val3", "val1, val2"]),
        ({"clip_seconds": 0.0}, errors.ParameterError, ["clip_seconds", "[0.25, 30]"]),
        ({"loudness_lufs": 0}, errors.ParameterError, ["loudness_lufs", "-23"]),
        ({"models": "target"}, errors.ParameterError, ["reserved", "rename"]),
        ({"splits": ""}, errors.ParameterError, ["splits", "val1, val2"]),
        ({"min_clip_seconds": 0}, errors.ParameterError, ["min_clip_seconds", "[0.01, 30]"]),
        ({"clip_seconds": True}, errors.ParameterError, ["clip_seconds"]),
        ({"pool_sessions": 1}, errors.ParameterError, ["pool_sessions", "True or False"]),
    ],
)
def test_prepare_trials_rejects_bad_parameters(run_dir, kwargs, error, words):
    # a bad value fails when the config is built; an unknown model when the run folder is read
    with pytest.raises(error) as info:
        listening.prepare_trials(listening_config(run_dir, **kwargs))
    for w in words:
        assert w in str(info.value)


def test_prepare_trials_rejects_bad_audio(tmp_path):
    with pytest.raises(errors.AudioFileError, match="03_evaluate"):
        listening.prepare_trials(listening_config(make_run_dir(tmp_path / "a", models=())))
    run = make_run_dir(tmp_path / "b", seconds=0.5)
    sf.write(run / "rendered" / "gru" / "val1.wav", np.zeros((SR // 2, 2), np.float32), SR)
    with pytest.raises(errors.ChannelError, match=r"gru/val1.wav.*2 channels.*mono"):
        listening.prepare_trials(listening_config(run))
    sf.write(run / "rendered" / "gru" / "val1.wav", np.zeros(24000, np.float32), 48000)
    with pytest.raises(errors.SampleRateError, match="48000 Hz"):
        listening.prepare_trials(listening_config(run))
    with pytest.raises(errors.AudioFileError, match="no such folder"):
        listening.prepare_trials(listening_config(tmp_path / "missing"))


# ---- order ------------------------------------------------------------------------------------


def test_rater_order_is_seeded_per_rater(trial_set):
    order = listening.rater_order(trial_set, "R1", seed=0)
    assert sorted(t for t, _ in order) == sorted(t.id for t in trial_set.trials)
    assert {s for _, s in order} <= {"A", "B"}
    assert listening.rater_order(trial_set, "  R1 ", seed=0) == order  # spaces normalized
    assert listening.rater_order(trial_set, "R2", seed=0) != order
    assert listening.rater_order(trial_set, "R1", seed=1) != order
    with pytest.raises(errors.ParameterError, match="rater name"):
        listening.rater_order(trial_set, "   ", seed=0)


def test_sides_and_first_trial_are_balanced_over_raters(trial_set):
    orders = [listening.rater_order(trial_set, f"rater {i}", seed=0) for i in range(300)]
    on_a = sum(s == "A" for o in orders for _, s in o)
    assert binomtest(on_a, 300 * len(trial_set.trials), 0.5).pvalue > 0.001
    firsts = {o[0][0] for o in orders}
    assert firsts == {t.id for t in trial_set.trials}  # every trial comes first for someone


# ---- store ------------------------------------------------------------------------------------


def test_store_appends_and_never_rewrites(tmp_path):
    path = tmp_path / "deep" / "ratings.jsonl"
    store = RatingsStore(path)
    before = b""
    for i, answer in enumerate([1, 2, 3, 4]):
        rec = store.append(_rec("R1", f"val1:m{i}", f"m{i}", answer))
        after = path.read_bytes()
        assert after.startswith(before) and len(after) > len(before)
        assert after.endswith(b"\n") and after.count(b"\n") == i + 1
        assert json.loads(after.splitlines()[-1]) == rec
        before = after
    assert [r["answer"] for r in store.read()] == [1, 2, 3, 4]
    assert "time" in store.read()[0]


def test_torn_last_line_is_skipped_and_does_not_swallow_the_next(tmp_path):
    path = tmp_path / "ratings.jsonl"
    store = RatingsStore(path)
    store.append(_rec("R1", "val1:gru", "gru", 2))
    store.append(_rec("R1", "val1:lstm", "lstm", 3))
    good = path.read_bytes()
    torn = json.dumps(_rec("R1", "val2:gru", "gru", 4)).encode()[:37]  # crash mid-write
    with open(path, "ab") as f:
        f.write(torn)
    records, skipped = listening.read_ratings(path)
    assert [r["answer"] for r in records] == [2, 3] and skipped == 1
    store.append(_rec("R1", "val2:gru", "gru", 1))
    data = path.read_bytes()
    assert data.startswith(good + torn)  # nothing before was rewritten
    records, skipped = listening.read_ratings(path)
    assert [r["answer"] for r in records] == [2, 3, 1] and skipped == 1


def test_invalid_lines_are_skipped_and_invalid_records_refused(tmp_path):
    path = tmp_path / "ratings.jsonl"
    path.write_text('{"rater": "x"}\nnot json\n\n' + json.dumps(_rec("A", "t", "m", 5)) + "\n"
                    + json.dumps(_rec("A", "t", "m", 4)) + "\n")
    records, skipped = listening.read_ratings(path)
    assert len(records) == 1 and skipped == 3
    with pytest.raises(errors.ParameterError, match="answer"):
        RatingsStore(path).append(_rec("A", "t", "m", 0))
    with pytest.raises(errors.ParameterError, match="missing session"):
        RatingsStore(path).append({"rater": "A", "trial": "t", "model": "m", "clip": "c",
                                   "side": "A", "answer": 2})
    assert listening.read_ratings(tmp_path / "none.jsonl") == ([], 0)


def test_latest_answer_counts():
    recs = [_rec("R1", "t1", "m", 1), _rec("R1", "t2", "m", 2), _rec("R1", "t1", "m", 4),
            _rec("R2", "t1", "m", 3)]
    latest = listening.latest_answers(recs)
    assert latest[("R1", "s-1", "t1")]["answer"] == 4
    assert latest[("R2", "s-1", "t1")]["answer"] == 3
    assert len(latest) == 3


# ---- controls and aggregation ---------------------------------------------------------------


def _session(rater, same, dry, models, *, session="s-1"):
    """Records of one rater: same-control answers, dry-control answers, {model: [answers]}."""
    kw = {"session": session, "controls": 4}  # 2 clips x 2 controls
    recs = [_rec(rater, f"c{i}:{CONTROL_SAME}", CONTROL_SAME, a, **kw) for i, a in enumerate(same)]
    recs += [_rec(rater, f"c{i}:{CONTROL_DRY}", CONTROL_DRY, a, **kw) for i, a in enumerate(dry)]
    for m, answers in models.items():
        recs += [_rec(rater, f"val{i + 1}:{m}", m, a, clip=f"val{i + 1}", **kw)
                 for i, a in enumerate(answers)]
    return recs


@pytest.mark.parametrize(
    ("same", "dry", "status"),
    [([4, 4], [1, 3], "passed"), ([4, 3], [1, 1], "failed"), ([4, 4], [4, 1], "failed"),
     ([4, 4], [2], "incomplete"), ([3], [], "failed")],
)
def test_controls_flag_raters(same, dry, status):
    latest = listening.latest_answers(_session("R1", same, dry, {"gru": [2]}))
    st = listening.rater_status(latest.values())
    assert st["status"] == status
    assert st["controls_answered"] == len(same) + len(dry)
    assert st["controls_expected"] == 4


def test_aggregate_numbers_match_hand_computation():
    recs = (
        _session("R1", [4, 4], [1, 2], {"lstm": [2, 3], "gru": [1, 1]})
        + _session("R2", [4, 4], [2, 3], {"lstm": [3, 1], "gru": [2, 2]})
        + _session("R3", [2, 4], [1, 1], {"lstm": [4, 4], "gru": [4, 4]})  # failed a control
        + _session("R4", [4], [], {"lstm": [4]})  # incomplete
    )
    recs.append(_rec("R2", "val2:lstm", "lstm", 4, clip="val2"))  # R2 changes 1 -> 4
    agg = listening.aggregate(recs)
    assert not agg["pending"]
    status = {r["rater"]: r["status"] for r in agg["raters"]}
    assert status == {"R1": "passed", "R2": "passed", "R3": "failed", "R4": "incomplete"}
    assert {r["rater"] for r in agg["excluded"]} == {"R3", "R4"}
    lstm = agg["models"]["lstm"]  # answers 2, 3, 3, 4
    assert lstm["n"] == 4 and lstm["raters"] == 2
    assert lstm["counts"] == {1: 0, 2: 1, 3: 2, 4: 1}
    assert lstm["mean"] == pytest.approx(3.0)
    assert lstm["sd"] == pytest.approx(math.sqrt(2 / 3))
    half = 3.182446305284263 * math.sqrt(2 / 3) / 2  # t(0.975, 3)
    assert lstm["ci95"] == pytest.approx([3.0 - half, 3.0 + half])
    gru = agg["models"]["gru"]  # answers 1, 1, 2, 2
    assert gru["mean"] == pytest.approx(1.5) and gru["counts"] == {1: 2, 2: 2, 3: 0, 4: 0}
    assert agg["by_clip"]["lstm"]["val2"]["mean"] == pytest.approx(3.5)  # 3 and 4
    # the thesis: 3/4/2/0 of 9 raters; stated 2.25, its counts give 17/9
    th = agg["thesis"]
    assert th["mean_stated"] == 2.25 and th["raters"] == 9
    assert th["from_counts"]["mean"] == pytest.approx(17 / 9)
    assert th["from_counts"]["counts"] == {1: 3, 2: 4, 3: 2, 4: 0}


def test_aggregate_by_session_and_single_answer():
    recs = (_session("R1", [4, 4], [1, 1], {"lstm": [2]}, session="s-a")
            + _session("R1", [4, 4], [1, 1], {"lstm": [4]}, session="s-b"))
    assert listening.aggregate(recs)["models"]["lstm"]["mean"] == pytest.approx(3.0)
    one = listening.aggregate(recs, session="s-b")["models"]["lstm"]
    assert one["mean"] == 4.0 and one["n"] == 1 and one["ci95"] is None
    assert listening.mean_ci95([])["mean"] is None


def test_write_aggregate_pending_then_counted(tmp_path):
    run = tmp_path / "reports" / "r1"
    ratings = tmp_path / "reports" / "listening" / "ratings.jsonl"
    config = listening_config(run)
    assert config.ratings_file == ratings  # the default: beside the run folders
    agg = listening.write_aggregate(config, session="s-1")
    assert agg["pending"] and json.loads((run / "listening" / "aggregate.json").read_text())[
        "pending"]
    page = listening.aggregate_html(agg)
    assert "pending" in page and "How to take the test" in page and "2.25" in page
    store = RatingsStore(ratings)
    for r in _session("R1", [4, 4], [1, 2], {"lstm": [2, 3]}):
        store.append(r)
    with open(ratings, "ab") as f:
        f.write(b'{"rater": "R1", "ses')
    agg = listening.write_aggregate(config, session="s-1")
    saved = json.loads((run / "listening" / "aggregate.json").read_text())
    assert saved["models"]["lstm"]["mean"] == 2.5 and saved["skipped_lines"] == 1
    assert saved["models"]["lstm"]["counts"] == {"1": 0, "2": 1, "3": 1, "4": 0}
    assert saved["config"]["run_dir"] == str(run) and saved["config"]["pool_sessions"] is True
    page = listening.aggregate_html(agg)
    # answers 2 and 3: mean 2.5, t(0.975, 1) * sd / sqrt(2) = 12.706 * 0.5 = 6.35
    assert "<td>lstm</td>" in page and "2.5 [-3.85, 8.85]" in page
    assert "Listening test pending" not in page
    fig = plot_aggregate(agg, path=config.figure_path)
    assert config.figure_path == run / "figures" / "listening_ratings.png"
    assert len(fig.axes) == 2 and config.figure_path.stat().st_size > 5000


# ---- widget logic ---------------------------------------------------------------------------


def _attentive(w, fallback):
    """The answer an attentive rater gives to the widget's current trial."""
    model = w.trial_set.trial(w.order[w.position][0]).model
    return {CONTROL_SAME: 4, CONTROL_DRY: 1}.get(model, fallback)


def test_widget_records_resumes_and_reveals_only_at_the_end(trial_set, tmp_path):
    ratings = tmp_path / "ratings.jsonl"
    w = listening.ListeningWidget(trial_set, ratings_path=ratings, seed=0)
    w.begin("   ")
    assert "name" in w.status.value and not ratings.exists()
    w.begin("R1")
    n = len(trial_set.trials)
    assert w.progress.value == f"<b>trial 1 of {n}</b>"
    order = listening.rater_order(trial_set, "R1", seed=0)
    # the players hold the files of the rater's first trial, on its sides
    t0, side0 = order[0]
    trial = trial_set.trial(t0)
    a = trial.candidate if side0 == "A" else trial.reference
    assert w.audio_a.value == (trial_set.root / a).read_bytes()
    first = _attentive(w, 3)
    w.answer(first)
    second = _attentive(w, 2)
    w.answer(second)
    assert w.progress.value == f"<b>trial 3 of {n}</b>"
    assert w.summary.value == ""  # nothing revealed mid-session
    w.go(0)  # back to trial 1, change the answer
    assert w.answer_buttons[first - 1].button_style == "info"  # the given answer is shown
    changed = _attentive(w, 4)
    w.answer(changed)
    recs = RatingsStore(ratings).read()
    assert [(r["trial"], r["side"], r["answer"]) for r in recs] == [
        (order[0][0], order[0][1], first), (order[1][0], order[1][1], second),
        (order[0][0], order[0][1], changed)]
    assert recs[0]["model"] == trial.model and recs[0]["session"] == trial_set.session
    # a fresh widget (notebook reopened) resumes at trial 3
    w2 = listening.ListeningWidget(trial_set, ratings_path=ratings, seed=0)
    w2.begin("R1")
    assert w2.progress.value == f"<b>trial 3 of {n}</b>" and "Resuming" in w2.status.value
    assert w2.next.disabled  # trial 3 is not answered yet
    for _ in range(n - 2):
        assert not w2.finished
        w2.answer(_attentive(w2, 1))
    assert w2.finished and "Session complete" in w2.summary.value
    for t in trial_set.trials:
        assert (f"model {t.model}" in w2.summary.value) or t.is_control
    agg = listening.aggregate(RatingsStore(ratings).read())
    assert agg["raters"][0]["status"] == "passed"
    assert agg["models"]["gru"]["n"] + agg["models"]["lstm"]["n"] == 4


# ---- config, notebook, profiles ---------------------------------------------------------------


def test_config_defaults_and_latest_fallback(tmp_path):
    reports = tmp_path / "reports"
    make_run_dir(reports / "20260101-r", seconds=0.5)
    (reports / "lab").mkdir()
    (reports / "latest").symlink_to("20260101-r")
    cfg = listening.ListeningConfig(run_dir=str(reports / "lab"), seed=0, interactive=True)
    assert cfg.run_folder == reports / "latest" and "latest" in cfg.note
    assert cfg.ratings_file == reports / "listening" / "ratings.jsonl"
    assert cfg.model_names == () and cfg.split_names == ("val1", "val2")
    assert "BS.1770-4" in cfg.describe() and "latest" in cfg.describe()
    batch = listening.ListeningConfig(run_dir=str(reports / "lab"), seed=0,
                                      interactive=False, ratings_path="/x/r.jsonl",
                                      models=" lstm, gru ")
    assert batch.run_folder == reports / "lab" and batch.ratings_file == Path("/x/r.jsonl")
    assert batch.note == "" and batch.model_names == ("lstm", "gru")
    with pytest.raises(errors.ParameterError, match="interactive"):
        listening.ListeningConfig(run_dir="x", seed=0, interactive="no")
    with pytest.raises(errors.ParameterError, match="seed"):
        listening.ListeningConfig(run_dir="x", seed=1.5, interactive=False)
    with pytest.raises(errors.ParameterError, match="run_dir"):
        listening.ListeningConfig(run_dir="", interactive=False)


def test_config_fields_are_the_notebooks_parameters():
    declared = pipeline.notebook_parameters("04_listening_test")
    fields = [f.name for f in dataclasses.fields(listening.ListeningConfig)]
    assert fields == list(declared)
    # the Python defaults are the notebook's (run_dir has none: a caller names the run)
    defaults = {f.name: f.default for f in dataclasses.fields(listening.ListeningConfig)
                if f.default is not dataclasses.MISSING}
    assert defaults == {k: v for k, v in declared.items() if k != "run_dir"}
    # one line in the notebook: the parameters cell's names, nothing else, from its namespace
    namespace = {**declared, "run_dir": "../reports/lab", "listening": listening, "other": 1}
    config = listening.ListeningConfig.from_parameters(namespace)
    assert config.to_dict() == declared
    with pytest.raises(errors.ParameterError, match="pool_sessions"):
        listening.ListeningConfig.from_parameters({"run_dir": "x", "seed": 0})


def _parameters_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    return nb, cells[0]


def test_notebook_structure():
    nb, cell = _parameters_cell()
    assert nb.metadata["kernelspec"]["name"] == "python3"
    names = {}
    for line in cell.source.splitlines():
        code, _, comment = line.partition("#")
        name, _, value = code.partition("=")
        assert comment.strip(), f"parameter line without a comment: {line}"
        names[name.strip()] = eval(value)  # flat literals only
    assert names["run_dir"] == "../reports/lab" and names["seed"] == 0
    assert names["interactive"] is True
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None
            assert not any(line.lstrip().startswith(("def ", "class "))
                           for line in c.source.splitlines())
    assert nb.cells[0].cell_type == "markdown" and "4.1.2" in nb.cells[0].source


def test_papermill_sees_every_parameter():
    import papermill

    _, cell = _parameters_cell()
    written = [line.split("=")[0].strip() for line in cell.source.splitlines()]
    assert list(papermill.inspect_notebook(str(NOTEBOOK))) == written


def test_profiles_name_only_declared_parameters():
    _, cell = _parameters_cell()
    declared = {line.split("=")[0].strip() for line in cell.source.splitlines()}
    defaults = pipeline.notebook_parameters("04_listening_test")
    for name in ("tiny", "quick", "paper", "full", "thesis"):
        prof = yaml.safe_load((REPO / "fxlab" / "profiles" / f"{name}.yaml").read_text())
        block = prof["steps"]["04_listening_test"]
        assert set(block) <= declared, name
        assert block["interactive"] is False, name
        assert 0.25 <= {**defaults, **block}["clip_seconds"] <= 30


@pytest.mark.slow
def test_notebook_runs_under_papermill(tmp_path):
    import papermill

    run = make_run_dir(tmp_path / "reports" / "r1", seconds=1.0)
    ratings = tmp_path / "reports" / "listening" / "ratings.jsonl"
    # ratings from an earlier session in JupyterLab
    ts = listening.prepare_trials(listening_config(run, clip_seconds=0.5))
    store = RatingsStore(ratings)
    for r in _session("R1", [4, 4], [1, 1], {"lstm": [2, 3]}, session=ts.session):
        store.append(r)
    add_conditioned_run(run)  # a knob-conditioned lstm in models/ and the drive data set's record
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(out), cwd=str(NOTEBOOK.parent), progress_bar=False,
        parameters={"run_dir": str(run), "interactive": False, "clip_seconds": 0.5},
    )
    agg = json.loads((run / "listening" / "aggregate.json").read_text())
    assert agg["models"]["lstm"]["mean"] == 2.5 and not agg["pending"]
    assert agg["current_session"] == ts.session
    assert (run / "figures" / "listening_ratings.png").is_file()
    text = out.read_text()
    assert "rating widget is shown when this notebook is opened in JupyterLab" in text
    # the knob audition, without a listener: the ESR table of the conditioned lstm
    assert "knob audition widget is shown when this notebook is opened" in text
    assert "ESR of lstm against the effect" in text and "held out for validation" in text
    assert "Traceback" not in text


def test_tiny_run_listening_artifacts(tiny_run):
    """End to end: the tiny profile's run folder holds the trials, the aggregate and the figure."""
    ts = listening.load_trials(tiny_run)
    assert ts.models and ts.n_controls == 2 * len(ts.clips)
    # the tiny profile renders windowed models on 0.05 s excerpts: left out, and said so
    assert all(k["seconds"] < 0.25 for k in ts.skipped)
    for t in ts.trials:
        for rel in (t.reference, t.candidate):
            info = sf.info(ts.root / rel)
            assert (info.subtype, info.samplerate, info.channels) == ("PCM_16", SR, 1)
            assert 0.1 <= info.duration <= 0.5 + 1e-3  # tiny profile: clip_seconds 0.5
    agg = json.loads((tiny_run / "listening" / "aggregate.json").read_text())
    assert agg["thesis"]["mean_stated"] == 2.25
    assert agg["current_session"] == ts.session
    assert (tiny_run / "figures" / "listening_ratings.png").is_file()
    assert set(ANSWERS) == {1, 2, 3, 4}
    # no model of the tiny profile is conditioned on knobs: the audition says so
    executed = (tiny_run / "notebooks" / "04_listening_test.ipynb").read_text()
    assert "No model of this run is conditioned on knobs" in executed
