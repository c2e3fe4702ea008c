"""Input level: every model against the input's peak (notebook 03), and notebook 01's
``train_levels`` (the training input at several peaks, true targets at each)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from fxlab import datasets
from fxlab.effects import get_effect
from fxlab.errors import LevelWarning, ParameterError
from fxlab.evaluate import levels

SR = 44_100
HIGHPASS = get_effect("highpass", cutoff_hz=440.0, order=1)


class FnModel:
    """A stand-in model: ``predict(x) = fn(x)``, with a training peak and a family."""

    def __init__(self, name, fn, *, peak=-6.0, family="sample", warn=False):
        self.name, self.fn, self.family, self.warn = name, fn, family, warn
        self.input_range = {"peak_dbfs": peak} if peak is not None else {}

    def predict(self, x):
        if self.warn:  # as the runtime does when fed louder input than trained on
            warnings.warn("louder than trained on", LevelWarning, stacklevel=2)
        return self.fn(np.asarray(x, np.float32))


def test_level_grid_spans_minus_30_to_0_dbfs_in_steps():
    assert levels.level_grid(3.0) == tuple(float(v) for v in range(-30, 1, 3))
    assert levels.level_grid(4.0) == (-28.0, -24.0, -20.0, -16.0, -12.0, -8.0, -4.0, 0.0)
    for bad in (0, -3, float("nan"), "3"):
        with pytest.raises(ParameterError, match="step_db"):
            levels.level_grid(bad)


def test_within_range_allowance_is_the_runtime_s_warning_headroom():
    from fxlab.runtime.streaming import LEVEL_HEADROOM_DB

    assert levels.WITHIN_DB == LEVEL_HEADROOM_DB


def test_level_material_is_the_loudest_excerpt_of_each_recording_at_full_scale():
    from fxlab import recordings

    material = levels.level_material(sr=SR, seconds=0.2)
    assert list(material) == recordings.list_recordings("instrument")
    for x in material.values():
        assert x.dtype == np.float32 and x.size == round(0.2 * SR)
        assert np.max(np.abs(x)) == pytest.approx(1.0, abs=1e-6)


def test_a_linear_error_scores_the_same_esr_at_every_level_and_a_saturating_one_grows():
    """A model that is the effect scaled by 0.9 has ESR 0.01 whatever the level (ESR does not
    depend on level for a linear error); one that saturates its input (tanh) before the effect
    is right when quiet and wrong when loud, more so the louder."""
    exact = FnModel("scaled", lambda x: 0.9 * HIGHPASS(x, SR))
    soft = FnModel("saturating", lambda x: HIGHPASS(np.tanh(2.0 * x) / 2.0, SR), peak=-12.0)
    windowed = FnModel("thesis_like", lambda x: x, family="windowed")
    lv = levels.level_grid(6.0)
    r = levels.score_over_levels([exact, soft, windowed], HIGHPASS, sr=SR, levels_dbfs=lv,
                                 seconds=0.1)
    assert r["levels_dbfs"] == list(lv)
    assert np.allclose(r["models"]["scaled"]["esr"], 0.01, rtol=1e-3)
    esr = np.array(r["models"]["saturating"]["esr"])
    assert esr[0] < 1e-4 and esr[-1] > 1e-2  # -30 dBFS: tanh is linear; 0 dBFS: it is not
    assert np.all(np.diff(esr) > 0)
    assert "thesis_like" in r["skipped"] and "thesis_like" not in r["models"]
    s = r["summary"]["saturating"]
    assert s["trained_peak_dbfs"] == -12.0 and s["at_peak_dbfs"] == -12.0
    assert s["esr_at_peak"] == pytest.approx(esr[lv.index(-12.0)])
    assert s["esr_within_max"] == pytest.approx(esr[lv.index(-12.0)])  # the worst at or below it
    assert s["above_db"] == 12.0 and s["esr_loudest"] == pytest.approx(esr[-1])


def test_scoring_louder_than_trained_is_on_purpose_so_the_level_warning_is_silenced():
    m = FnModel("warns", lambda x: HIGHPASS(x, SR), warn=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = levels.score_over_levels([m], HIGHPASS, sr=SR, levels_dbfs=[-6.0, 0.0], seconds=0.05)
    assert max(r["models"]["warns"]["esr"]) < 1e-10


def test_bad_levels_are_refused():
    with pytest.raises(ParameterError, match="levels_dbfs"):
        levels.score_over_levels([], HIGHPASS, sr=SR, levels_dbfs=[-6.0, 3.0], seconds=0.05)


def test_table_caption_and_figure_say_what_was_measured():
    from fxlab.plots.evaluation import plot_esr_vs_level

    soft = FnModel("saturating", lambda x: HIGHPASS(np.tanh(2.0 * x) / 2.0, SR), peak=-6.02)
    training = {"peak_dbfs": -6.02, "chunk_peak_min_dbfs": -24.0, "chunk_peak_max_dbfs": 0.0,
                "train_levels_dbfs": [0.0, -12.0, -24.0]}
    r = levels.score_over_levels([soft], HIGHPASS, sr=SR, levels_dbfs=[-12.0, -6.0, 0.0],
                                 seconds=0.05, training=training)
    table = str(levels.levels_html(r))
    assert "<b>saturating</b>" in table and "ESR at 0 dBFS" in table
    assert "0, -12, -24 dBFS in turn" in table
    assert "6.0 dB above it" in levels.levels_sentence(r)
    assert "-24.0 to 0.0 dBFS" in levels.levels_caption(r)
    assert levels.levels_html(None) == "" and levels.levels_html({"models": {}}) == ""
    fig = plot_esr_vs_level(r, title="t")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [ln.get_label() for ln in ax.lines if not ln.get_label().startswith("_")] == ["saturating"]
    # the shaded training range: a 24 dB wide span (axvspan is a patch)
    spans = [p for p in ax.patches if p.get_label() == "training input's peak levels"]
    assert len(spans) == 1 and spans[0].get_width() == pytest.approx(24.0)


# ------------------------------------------------------------------ train_levels (notebook 01)


def test_train_levels_parse_to_peaks_loudest_first():
    assert datasets.parse_train_levels("") == () and datasets.parse_train_levels(None) == ()
    assert datasets.parse_train_levels("-24, 0,-12,-12") == (0.0, -12.0, -24.0)
    assert datasets.parse_train_levels(-6) == (-6.0,)
    assert datasets.parse_train_levels([0, -60]) == (0.0, -60.0)


@pytest.mark.parametrize("bad", ["3", "+6,0", "abc", "0,,-6", "-70", 1.5, True, {"a": 1}])
def test_bad_train_levels_name_the_value_and_the_fix(bad):
    with pytest.raises(ParameterError, match=r"train_levels=.*found.*Fix: set train_levels = \"0,-12,-24\""):
        datasets.parse_train_levels(bad)


def test_bad_train_levels_fail_when_notebook_01_s_config_is_built():
    from fxlab.pipeline import notebook_parameters

    with pytest.raises(ParameterError, match="train_levels='6'"):
        datasets.DataConfig.from_parameters(notebook_parameters("01_synthesize_data"), train_levels="6")


def test_train_levels_enter_the_recipe_and_change_the_cache_key_default_unchanged():
    base = datasets.recipe(train_set="tiny")
    assert "levels_dbfs" not in base["train"]  # the default recipe, so the quick profile's cache, stays
    assert datasets.recipe(train_set="tiny", train_levels="") == base
    levelled = datasets.recipe(train_set="tiny", train_levels="0,-12,-24")
    assert levelled["train"]["levels_dbfs"] == [0.0, -12.0, -24.0]
    assert datasets._recipe_key(levelled) != datasets._recipe_key(base)
    assert {k: v for k, v in levelled.items() if k != "train"} == {
        k: v for k, v in base.items() if k != "train"}


def test_train_levels_scale_the_training_chunks_with_true_targets_and_leave_validation(tmp_path):
    """The training chunks peak at the levels in turn, the target is the (nonlinear) effect of
    that input, and Validation 1 and 2 are the same as without ``train_levels``."""
    drive = get_effect("drive", gain_db=20.0)
    kw = dict(train_set="tiny", effect=drive.spec, val1_seconds=0.25, val2_seconds=0.25,
              cache_dir=tmp_path / "cache", log=lambda m: None)
    plain = datasets.build_dataset(tmp_path / "plain", **kw)
    lev = datasets.build_dataset(tmp_path / "lev", train_levels="0,-12,-24", **kw)
    assert lev.manifest["key"] != plain.manifest["key"]
    assert lev.manifest["recipe"]["train"]["levels_dbfs"] == [0.0, -12.0, -24.0]
    train = lev.split("train")
    chunks = lev.manifest["splits"]["train"]["chunks"]
    assert [c["peak_dbfs"] for c in chunks[:4]] == [0.0, -12.0, -24.0, 0.0]
    plain_train = plain.split("train")
    for c in chunks:
        sl = slice(c["start"], c["start"] + c["n"])
        gain = 10 ** ((c["peak_dbfs"] + 20 * np.log10(2.0)) / 20)  # the plain chunks peak at 0.5
        np.testing.assert_allclose(train.dry[sl], gain * plain_train.dry[sl], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(train.wet, drive(train.dry, SR), atol=1e-6)  # true targets
    assert np.max(np.abs(train.dry)) == pytest.approx(1.0, abs=1e-6)
    for split in ("val1", "val2"):
        np.testing.assert_array_equal(lev.split(split).dry, plain.split(split).dry)
        np.testing.assert_array_equal(lev.split(split).wet, plain.split(split).wet)
    assert "chunk peaks -24, -12, 0 dBFS in turn" in lev.summary_html()
    assert levels.training_levels(lev)["chunk_peak_max_dbfs"] == pytest.approx(0.0, abs=1e-4)
    assert levels.training_levels(lev)["train_levels_dbfs"] == [0.0, -12.0, -24.0]
    assert levels.training_levels(plain)["train_levels_dbfs"] is None


def test_eval_config_checks_the_level_sweep_settings():
    from fxlab.evaluate import EvalConfig

    assert EvalConfig(level_step_db=0).level_step_db == 0  # 0: not scored
    with pytest.raises(ParameterError, match="level_step_db"):
        EvalConfig(level_step_db=-3)
    with pytest.raises(ParameterError, match="level_seconds"):
        EvalConfig(level_seconds=0)


def test_tiny_run_scores_every_non_windowed_model_against_level(tiny_run):
    m = json.loads((tiny_run / "metrics.json").read_text())
    lv = m["levels"]
    scored = {n for n, e in m["models"].items() if e["family"] != "windowed"}
    assert set(lv["models"]) == scored
    assert set(lv["skipped"]) == set(m["models"]) - scored
    assert lv["levels_dbfs"][0] == -30.0 and lv["levels_dbfs"][-1] == 0.0
    for entry in lv["models"].values():
        assert len(entry["esr"]) == len(lv["levels_dbfs"])
        assert entry["trained_peak_dbfs"] == pytest.approx(-6.02, abs=0.01)
    assert (tiny_run / "figures" / "levels.png").exists()


def test_a_conditioned_run_is_scored_at_its_first_held_out_setting():
    """The effect and a knob-conditioned model both at the held-out setting: a model that is the
    effect at the knob value it is given scores ~0; at another setting it would not."""
    drive = get_effect("drive", gain_db=20.0)

    class Conditioned(FnModel):
        knobs = drive.knobs

        def predict(self, x, *, knobs=None):
            return drive.with_knobs(**knobs)(np.asarray(x, np.float32), SR)

    class Data:
        conditioning = {"val_settings": [{"gain_db": 15.0}, {"gain_db": 25.0}]}

    setting = levels.held_out_setting(Data())
    assert setting == {"gain_db": 15.0}
    r = levels.score_over_levels([Conditioned("cond", None)], drive, sr=SR, levels_dbfs=[-12.0, 0.0],
                                 seconds=0.05, setting=setting)
    assert r["setting"] == setting and "gain_db = 15" in r["definition"]
    assert max(r["models"]["cond"]["esr"]) < 1e-10
    deaf = FnModel("deaf", lambda x: drive(x, SR))  # no knobs: stays at the base gain (20 dB)
    other = levels.score_over_levels([deaf], drive, sr=SR, levels_dbfs=[0.0], seconds=0.05,
                                     setting=setting)
    assert other["models"]["deaf"]["esr"][0] > 1e-3  # the target is the effect at 15 dB
    Data.conditioning = None
    assert levels.held_out_setting(Data()) is None
