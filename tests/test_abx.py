"""Tests of the ABX test in fxlab.listening: the exact binomial test, the clips (real WAVs in a
generated run folder), each rater's seeded X, the append-only answers file, the verdicts per rater
and pooled, the widget's logic (real ipywidgets objects, no browser), the config and the notebook.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from browser_support import listening_config, make_run_dir
from scipy.stats import binomtest

from fxlab import errors, listening
from fxlab.listening import AbxStore

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_listening_test.ipynb"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run_dir(tmp_path_factory.mktemp("reports") / "r1", seconds=1.5)


@pytest.fixture(scope="module")
def abx_session(run_dir):
    return listening.prepare_abx(listening_config(run_dir, clip_seconds=1.0))


def _answers(rater, correct, n, *, session="x-1", model="lstm", clip="val2", answered=None):
    """``answered`` (default n) records of one rater, the first ``correct`` of them right."""
    out = []
    for t in range(1, (n if answered is None else answered) + 1):
        x = "AB"[t % 2]
        answer = x if t <= correct else "AB"[(t + 1) % 2]
        out.append({"rater": rater, "session": session, "trial": t, "n_trials": n,
                    "model": model, "clip": clip, "x": x, "answer": answer,
                    "time": "2026-01-01T00:00:00Z"})
    return out


# ---- the binomial test ------------------------------------------------------------------------


def test_binomial_p_value_is_exact():
    assert listening.binomial_p_value(12, 16) == pytest.approx(0.0384, abs=5e-5)
    assert listening.binomial_p_value(12, 16) == float(Fraction(2517, 65536))
    assert listening.binomial_p_value(11, 16) == float(Fraction(6885, 65536))  # 0.105: not < 0.05
    assert listening.binomial_p_value(0, 7) == 1.0
    assert listening.binomial_p_value(16, 16) == 2.0 ** -16
    for n in (1, 5, 10, 16, 20, 37, 200):
        for k in range(n + 1):
            expected = binomtest(k, n, 0.5, alternative="greater").pvalue
            assert listening.binomial_p_value(k, n) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_needed_correct_for_p_below_005():
    assert listening.needed_correct(16) == 12
    assert listening.needed_correct(10) == 9
    assert listening.needed_correct(20) == 15
    assert listening.needed_correct(5) == 5  # 1/32 < 0.05
    assert listening.needed_correct(4) is None  # 4 of 4 by guessing: 1/16
    for n in range(5, 60):
        k = listening.needed_correct(n)
        assert listening.binomial_p_value(k, n) < 0.05 <= listening.binomial_p_value(k - 1, n)


@pytest.mark.parametrize("k, n, words", [(17, 16, "correct"), (-1, 16, "correct"),
                                         (3, 0, "N"), (3, True, "N"), (2.0, 16, "correct")])
def test_binomial_refuses_bad_counts(k, n, words):
    with pytest.raises(errors.ParameterError, match=words):
        listening.binomial_p_value(k, n)


def test_verdicts():
    told = listening.abx_verdict(12, 16)
    assert told["told_apart"] and told["verdict"] == "told apart" and told["needed"] == 12
    not_told = listening.abx_verdict(11, 16)
    assert not not_told["told_apart"] and not_told["verdict"] == "not told apart at this N"
    assert listening.abx_verdict(4, 4)["needed"] is None


# ---- the clips --------------------------------------------------------------------------------


def test_the_default_model_is_the_best_network_by_its_esr(tmp_path):
    run = make_run_dir(tmp_path / "r", seconds=1.0, models=("graybox", "gru", "lstm"))
    assert listening.prepare_abx(listening_config(run, clip_seconds=0.5)).model == "gru"  # no metrics: by name
    esr = {"graybox": 1e-9, "gru": 0.3, "lstm": 0.02}
    (run / "metrics.json").write_text(json.dumps(
        {"models": {m: {"splits": {"val2": {"esr": e}}} for m, e in esr.items()}}))
    # the emulator last however good: the default asks whether the best network can be told apart
    assert listening.prepare_abx(listening_config(run, clip_seconds=0.5)).model == "lstm"


def test_abx_clips_are_the_ab_trials_clips_and_x_sounds_the_same(run_dir, abx_session):
    s = abx_session
    assert s.root == run_dir / "listening" / "abx"
    assert (s.model, s.clip, s.n_trials) == ("gru", "val2", 16)  # the first rendered, by name
    trial_set = listening.prepare_trials(listening_config(run_dir, clip_seconds=1.0))
    trial = trial_set.trial("val2:gru")
    # A and B are the A/B trial's target and candidate to the byte: cut and matched the same way
    assert s.path("A").read_bytes() == (trial_set.root / trial.reference).read_bytes()
    assert s.path("B").read_bytes() == (trial_set.root / trial.candidate).read_bytes()
    for side in ("A", "B"):
        info = sf.info(s.path(side))
        assert (info.subtype, info.samplerate, info.channels) == ("PCM_16", 44100, 1)
        y, _ = sf.read(s.path(side), dtype="float32")
        x, _ = sf.read(s.path(f"X_{side}"), dtype="float32")
        np.testing.assert_array_equal(x, y)  # X sounds exactly like the side it is ...
        assert s.path(f"X_{side}").read_bytes() != s.path(side).read_bytes()  # ... other bytes
    a, _ = sf.read(s.path("A"))
    b, _ = sf.read(s.path("B"))
    lufs = [listening.loudness(v, sr=44100) for v in (a, b)]
    assert lufs[0] == pytest.approx(lufs[1], abs=0.1)  # loudness-matched
    assert "x-" in s.table_html() and "gru" in s.table_html()


def test_prepare_abx_is_cached_and_n_makes_the_session(run_dir, abx_session):
    mtime = (abx_session.root / "session.json").stat().st_mtime_ns
    again = listening.prepare_abx(listening_config(run_dir, clip_seconds=1.0))
    assert again == abx_session
    assert (abx_session.root / "session.json").stat().st_mtime_ns == mtime
    other = listening.prepare_abx(listening_config(run_dir, clip_seconds=1.0, abx_trials=10,
                                          abx_model="lstm"))
    assert (other.model, other.n_trials) == ("lstm", 10) and other.session != abx_session.session
    back = listening.prepare_abx(listening_config(run_dir, clip_seconds=1.0))
    assert back.session == abx_session.session  # the same audio and N: the same session


def test_prepare_abx_refuses_unknown_or_short_models(tmp_path):
    run = make_run_dir(tmp_path / "reports" / "r", seconds=0.6)
    with pytest.raises(errors.UnknownNameError, match="nope"):
        listening.prepare_abx(listening_config(run, abx_model="nope"))
    # gru rendered 0.1 s only: left out by default, refused by name
    y, sr = sf.read(run / "rendered" / "gru" / "val2.wav")
    sf.write(run / "rendered" / "gru" / "val2.wav", y[: sr // 10], sr, subtype="FLOAT")
    assert listening.prepare_abx(listening_config(run, clip_seconds=0.5)).model == "lstm"
    with pytest.raises(errors.AudioFileError, match="too short"):
        listening.prepare_abx(listening_config(run, clip_seconds=0.5, abx_model="gru"))
    with pytest.raises(errors.AudioFileError, match="no such folder"):
        listening.prepare_abx(listening_config(tmp_path / "missing"))


# ---- each rater's X ---------------------------------------------------------------------------


def test_abx_order_is_seeded_per_rater(abx_session):
    order = listening.abx_order(abx_session, "R1", seed=0)
    assert len(order) == 16 and set(order) <= {"A", "B"}
    assert listening.abx_order(abx_session, " R1  ", seed=0) == order  # reproducible
    assert listening.abx_order(abx_session, "R2", seed=0) != order
    assert listening.abx_order(abx_session, "R1", seed=1) != order
    with pytest.raises(errors.ParameterError, match="rater name"):
        listening.abx_order(abx_session, " ", seed=0)


def test_x_is_a_fair_coin_over_raters(abx_session):
    xs = [x for i in range(200) for x in listening.abx_order(abx_session, f"r{i}", seed=0)]
    assert binomtest(xs.count("A"), len(xs), 0.5).pvalue > 0.001
    firsts = {listening.abx_order(abx_session, f"r{i}", seed=0)[0] for i in range(50)}
    assert firsts == {"A", "B"}


# ---- the answers file -------------------------------------------------------------------------


def test_answers_append_and_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "listening" / "abx.jsonl"
    store = AbxStore(path)
    before = b""
    for rec in _answers("R1", 2, 16, answered=3):
        written = store.append(rec)
        after = path.read_bytes()
        assert after.startswith(before) and json.loads(after.splitlines()[-1]) == written
        before = after
    torn = json.dumps(_answers("R1", 0, 16, answered=4)[3]).encode()[:40]
    with open(path, "ab") as f:
        f.write(torn)
    records, skipped = listening.read_abx(path)
    assert [r["trial"] for r in records] == [1, 2, 3] and skipped == 1
    store.append(_answers("R1", 0, 16, answered=4)[3])
    assert path.read_bytes().startswith(before + torn)  # nothing rewritten
    records, skipped = listening.read_abx(path)
    assert [r["trial"] for r in records] == [1, 2, 3, 4] and skipped == 1
    assert listening.read_abx(tmp_path / "none.jsonl") == ([], 0)


@pytest.mark.parametrize("change", [{"answer": "C"}, {"trial": 17}, {"trial": 0},
                                    {"n_trials": 201, "trial": 1}, {"x": None}])
def test_invalid_answers_are_refused(tmp_path, change):
    with pytest.raises(errors.ParameterError, match="ABX answer"):
        AbxStore(tmp_path / "abx.jsonl").append({**_answers("R1", 1, 16, answered=1)[0], **change})


def test_default_answers_file_is_beside_the_ratings(tmp_path):
    cfg = listening_config(tmp_path / "reports" / "r1")
    assert cfg.abx_file == tmp_path / "reports" / "listening" / "abx.jsonl"
    assert cfg.abx_file.parent == cfg.ratings_file.parent
    assert listening_config(tmp_path, abx_path="/x/a.jsonl").abx_file == Path("/x/a.jsonl")


# ---- verdicts ---------------------------------------------------------------------------------


def test_incomplete_sessions_are_not_judged_and_pooled_counts_sum():
    recs = [*_answers("R1", 12, 16), *_answers("R2", 10, 16), *_answers("R3", 15, 16, answered=15),
            *_answers("R4", 5, 10, model="gru")]
    agg = listening.abx_aggregate(recs)
    by = {r["rater"]: r for r in agg["raters"]}
    assert set(by) == {"R1", "R2", "R4"}  # R3 stopped at 15 of 16: in progress, not judged
    assert [(s["rater"], s["answered"], s["n_trials"]) for s in agg["in_progress"]] == [
        ("R3", 15, 16)]
    assert (by["R1"]["correct"], by["R1"]["verdict"]) == (12, "told apart")
    assert (by["R2"]["correct"], by["R2"]["verdict"]) == (10, "not told apart at this N")
    lstm = agg["pooled"]["lstm on val2"]
    assert (lstm["correct"], lstm["n"], lstm["raters"]) == (22, 32, 2)
    assert lstm["p"] == pytest.approx(listening.binomial_p_value(22, 32))
    assert lstm["needed"] == listening.needed_correct(32) == 22 and lstm["told_apart"]
    gru = agg["pooled"]["gru on val2"]
    assert (gru["correct"], gru["n"], gru["verdict"]) == (5, 10, "not told apart at this N")
    assert not agg["pending"]


def test_the_first_answer_to_a_trial_counts_and_sessions_filter():
    recs = _answers("R1", 16, 16)
    wrong = {**recs[0], "answer": "B" if recs[0]["x"] == "A" else "A"}
    agg = listening.abx_aggregate([*recs, wrong, *_answers("R2", 16, 16, session="x-2")],
                                  session="x-1")
    assert [(r["rater"], r["correct"]) for r in agg["raters"]] == [("R1", 16)]
    assert agg["pending"] is False and agg["session"] == "x-1"
    only_in_progress = listening.abx_aggregate(_answers("R1", 3, 16, answered=3))
    assert only_in_progress["pending"] and only_in_progress["pooled"] == {}


def test_write_abx_aggregate_pending_then_counted(tmp_path, run_dir):
    answers = tmp_path / "abx.jsonl"
    cfg = listening_config(run_dir, abx_path=str(answers))
    agg = listening.write_abx_aggregate(cfg, session="x-1")
    assert agg["pending"] and agg["current_session"] == "x-1"
    assert json.loads((run_dir / "listening" / "abx.json").read_text())["pending"]
    assert "ABX test pending" in listening.abx_html(agg)
    store = AbxStore(answers)
    for rec in [*_answers("R1", 13, 16), *_answers("R2", 2, 16, answered=4)]:
        store.append(rec)
    with open(answers, "ab") as f:
        f.write(b'{"rater": "R9", "tri')
    agg = listening.write_abx_aggregate(cfg, session="x-1")
    doc = json.loads((run_dir / "listening" / "abx.json").read_text())
    assert doc["pooled"]["lstm on val2"]["correct"] == 13 and doc["skipped_lines"] == 1
    text = listening.abx_html(agg)
    assert "told apart" in text and "13/16" in text and "4 of 16" in text
    assert "pending" not in text and "torn" in text


# ---- widget logic -----------------------------------------------------------------------------


def test_widget_records_resumes_and_judges_only_at_the_end(abx_session, tmp_path):
    answers = tmp_path / "abx.jsonl"
    w = listening.AbxWidget(abx_session, answers_path=answers, seed=0)
    w.begin("  ")
    assert "name" in w.status.value and not answers.exists()
    w.begin("R1")
    order = listening.abx_order(abx_session, "R1", seed=0)
    assert w.progress.value == "<b>trial 1 of 16</b>"
    assert w.audio_x.value == abx_session.path(f"X_{order[0]}").read_bytes()
    assert w.audio_a.value == abx_session.path("A").read_bytes()
    for t in range(5):
        w.answer(order[t])  # right
    assert w.progress.value == "<b>trial 6 of 16</b>" and w.summary.value == ""
    recs = AbxStore(answers).read()
    assert [(r["trial"], r["x"], r["answer"], r["n_trials"]) for r in recs] == [
        (t + 1, order[t], order[t], 16) for t in range(5)]
    assert recs[0]["session"] == abx_session.session and recs[0]["model"] == abx_session.model
    # the notebook reopened: a fresh widget resumes at trial 6
    w2 = listening.AbxWidget(abx_session, answers_path=answers, seed=0)
    w2.begin("R1")
    assert w2.progress.value == "<b>trial 6 of 16</b>" and "Resuming" in w2.status.value
    assert w2.audio_x.value == abx_session.path(f"X_{order[5]}").read_bytes()
    for t in range(5, 16):
        assert not w2.finished
        w2.answer(order[t] if t < 12 else "AB"[order[t] == "A"])  # 7 more right, 4 wrong
    assert w2.finished and "12 of 16" in w2.summary.value and "told apart" in w2.summary.value
    assert w2.answer("A") is None  # nothing after the last trial
    agg = listening.abx_aggregate(AbxStore(answers).read())
    assert agg["raters"][0]["correct"] == 12 and agg["raters"][0]["told_apart"]
    w3 = listening.AbxWidget(abx_session, answers_path=answers, seed=0)
    w3.begin("R1")
    assert w3.finished and "every trial" in w3.status.value


def test_abx_widget_is_a_note_under_papermill(run_dir, abx_session):
    note = listening.abx_widget(abx_session, listening_config(run_dir))
    assert "ABX widget is shown when this notebook is opened in JupyterLab" in note.data
    shown = listening.abx_widget(abx_session, listening.ListeningConfig(
        run_dir=str(run_dir), interactive=True))
    assert isinstance(shown, listening.AbxWidget)


# ---- config and notebook ----------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, words", [
    ({"abx_trials": 0}, errors.ParameterError, "abx_trials"),
    ({"abx_trials": 201}, errors.ParameterError, "abx_trials"),
    ({"abx_trials": 16.0}, errors.ParameterError, "abx_trials"),
    ({"abx_trials": True}, errors.ParameterError, "abx_trials"),
    ({"abx_split": "val3"}, errors.UnknownNameError, "val3"),
    ({"abx_model": "target"}, errors.ParameterError, "abx_model"),
    ({"abx_model": 3}, errors.ParameterError, "abx_model"),
    ({"abx_path": 3}, errors.ParameterError, "abx_path"),
])
def test_config_refuses_bad_abx_parameters(kwargs, error, words):
    with pytest.raises(error, match=words) as info:
        listening.ListeningConfig(run_dir="x", interactive=False, **kwargs)
    assert "Fix:" in str(info.value)


def test_notebook_has_the_abx_cells_without_definitions():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for call in ("listening.prepare_abx(config)", "listening.abx_widget(abx_session, config)",
                 "listening.write_abx_aggregate(config, session=abx_session.session)",
                 "listening.abx_html(abx)"):
        assert call in code
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "ABX" in text and "12 correct" in text and "fixed before the session starts" in text


@pytest.mark.slow
def test_notebook_runs_the_abx_test_under_papermill(tmp_path):
    import papermill

    run = make_run_dir(tmp_path / "reports" / "r1", seconds=1.0)
    session = listening.prepare_abx(listening_config(run, clip_seconds=0.5, abx_trials=10))
    store = AbxStore(tmp_path / "reports" / "listening" / "abx.jsonl")  # the default file
    for rec in [*_answers("R1", 9, 10, session=session.session, model=session.model),
                *_answers("R2", 1, 10, session=session.session, answered=2)]:
        store.append(rec)
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK), str(out), cwd=str(NOTEBOOK.parent), progress_bar=False,
        parameters={"run_dir": str(run), "interactive": False, "clip_seconds": 0.5,
                    "abx_trials": 10},
    )
    agg = json.loads((run / "listening" / "abx.json").read_text())
    assert agg["current_session"] == session.session
    assert [(r["rater"], r["correct"], r["verdict"]) for r in agg["raters"]] == [
        ("R1", 9, "told apart")]
    assert agg["in_progress"][0]["rater"] == "R2"
    text = out.read_text()
    assert "ABX widget is shown when this notebook is opened in JupyterLab" in text
    assert "9/10" in text and "Traceback" not in text


def test_tiny_run_abx_artifacts(tiny_run):
    """End to end: the tiny profile's run holds an ABX session and a pending ABX aggregate."""
    session = listening.load_abx(tiny_run)
    assert session.n_trials == 16 and session.clip == "val2"
    for key in ("A", "B", "X_A", "X_B"):
        assert session.path(key).is_file()
    agg = json.loads((tiny_run / "listening" / "abx.json").read_text())
    assert agg["current_session"] == session.session and "pooled" in agg
    executed = (tiny_run / "notebooks" / "04_listening_test.ipynb").read_text()
    assert "ABX" in executed and "Traceback" not in executed
