"""fxlab.perceptual: ViSQOL v3 (audio mode) on generated signals, and its refusals."""

import numpy as np
import pytest
from scipy import signal as sps

from fxlab import perceptual
from fxlab.errors import (
    FxlabError,
    LengthMismatchError,
    NonFiniteError,
    ParameterError,
    SilenceError,
)

SR = 44100


@pytest.fixture(scope="module")
def music():
    """2 s of a broadband "instrument": decaying plucked tones (harmonics to 10 kHz) over a hiss."""
    rng = np.random.default_rng(0)
    t = np.arange(2 * SR) / SR
    x = np.zeros_like(t)
    for k, f0 in enumerate((196.0, 247.0, 294.0, 392.0)):
        onset = 0.45 * k
        env = np.where(t >= onset, np.exp(-3.0 * (t - onset)), 0.0)
        for h in range(1, 40):
            if h * f0 < 10000:
                x += env * np.sin(2 * np.pi * h * f0 * (t - onset)) / h
    x += 0.02 * rng.standard_normal(t.size)
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def test_identical_signals_score_at_the_ceiling(music):
    score = perceptual.visqol(music, music.copy(), sr=SR)
    assert 4.6 <= score <= 5.0  # audio mode's ceiling is about 4.73, not 5


def test_a_gain_change_costs_little_and_degradations_cost_clearly(music):
    ceiling = perceptual.visqol(music, music, sr=SR)
    quieter = perceptual.visqol(music, 0.5 * music, sr=SR)  # ViSQOL matches levels first
    sos = sps.butter(8, 1000, "lowpass", fs=SR, output="sos")
    lowpassed = perceptual.visqol(music, sps.sosfilt(sos, music).astype(np.float32), sr=SR)
    distorted = perceptual.visqol(music, np.tanh(30 * music) / 2, sr=SR)
    assert quieter > ceiling - 0.05
    assert lowpassed < ceiling - 0.5
    assert distorted < ceiling - 0.5
    assert all(1.0 <= s <= 5.0 for s in (lowpassed, distorted))


def test_the_44k1_signal_is_scored_at_48k(music):
    x48 = perceptual.to_visqol_rate(music, sr=SR)
    assert x48.size == int(np.ceil(music.size * 48000 / SR))
    # the resampled tone keeps its frequency (soxr VHQ, no added delay): 1 kHz peak at 48 kHz too
    tone = np.sin(2 * np.pi * 1000 * np.arange(SR) / SR).astype(np.float32)
    t48 = perceptual.to_visqol_rate(tone, sr=SR)
    spec = np.abs(np.fft.rfft(t48 * np.hanning(t48.size)))
    assert np.fft.rfftfreq(t48.size, 1 / 48000)[np.argmax(spec)] == pytest.approx(1000, abs=2)
    assert np.max(np.abs(t48[100:-100] - np.sin(2 * np.pi * 1000 * np.arange(t48.size)[100:-100]
                                                  / 48000))) < 1e-3
    # a 48 kHz signal is scored as it is and gives the same score as its 44.1 kHz original
    at48 = perceptual.visqol(x48, x48, sr=48000)
    assert at48 == pytest.approx(perceptual.visqol(music, music, sr=SR), abs=0.02)


def test_the_shortest_scorable_signal_is_0_96_s(music):
    n = int(np.ceil(perceptual.MIN_SECONDS * SR))
    assert perceptual.MIN_SECONDS == pytest.approx(0.96)
    assert perceptual.visqol(music[:n], music[:n], sr=SR) > 4.5
    with pytest.raises(ParameterError, match=r"at least 0\.96 s.*Fix: score a longer stretch"):
        perceptual.visqol(music[:n - 1], music[:n - 1], sr=SR)


@pytest.mark.parametrize("bad, error, named", [
    (lambda x: (x, x[:-10]), LengthMismatchError, "lengths 88200 and 88190"),
    (lambda x: (x, np.where(np.arange(x.size) == 5, np.nan, x)), NonFiniteError,
     "degraded: found 1 NaN"),
    (lambda x: (np.zeros_like(x), x), SilenceError, "reference: found a silent signal"),
    (lambda x: (x, 1e-4 * x), SilenceError, "degraded: found a silent signal (peak -86.0 dBFS)"),
    (lambda x: (np.stack([x, x]), x), ParameterError, "reference: found an array of shape"),
    (lambda x: (x[:1000], x[:1000]), ParameterError, "1000 samples"),
])
def test_bad_inputs_raise_fxlab_errors_naming_the_value(music, bad, error, named):
    with pytest.raises(error, match="Fix:") as caught:
        perceptual.visqol(*bad(music), sr=SR)
    assert named in str(caught.value)
    assert isinstance(caught.value, FxlabError)


def test_visqol_is_available_and_a_bad_rate_is_refused(music):
    assert perceptual.unavailable() is None
    with pytest.raises(ParameterError):
        perceptual.visqol(music, music, sr=0)


# ------------------------------------------------------------------ in the evaluation


def test_the_evaluation_scores_models_and_controls_on_the_same_stretch(music):
    from fxlab.evaluate import score_visqol, visqol_html

    dry = music
    sos = sps.butter(1, 440, "highpass", fs=SR, output="sos")
    target = sps.sosfilt(sos, dry).astype(np.float32)
    rng = np.random.default_rng(1)
    lowpass = sps.butter(8, 1000, "lowpass", fs=SR, output="sos")
    outputs = {
        "close": {"clip": (0, target + 1e-4 * rng.standard_normal(target.size).astype(np.float32))},
        "hissy": {"clip": (0, target + 2e-2 * rng.standard_normal(target.size).astype(np.float32))},
        "dull": {"clip": (0, sps.sosfilt(lowpass, target).astype(np.float32))},
        "excerpt": {"clip": (SR // 2, target[SR // 2:SR // 2 + 2205])},  # 0.05 s only
    }
    v = score_visqol({"clip": (target, dry)}, outputs, sr=SR, seconds=1.5, labels={"clip": "C"})
    st = v["clips"]["clip"]
    assert st["seconds"] == pytest.approx(1.5) and st["label"] == "C"
    ceiling, no_model = v["controls"]["target"]["clip"], v["controls"]["dry"]["clip"]
    assert 4.6 <= ceiling <= 5.0 and no_model < ceiling
    # the scores are of the stretch named: recomputed from it
    a, n = round(st["start_s"] * SR), round(st["seconds"] * SR)
    y = outputs["hissy"]["clip"][1]
    assert v["models"]["hissy"]["clip"] == pytest.approx(
        perceptual.visqol(target[a:a + n], y[a:a + n], sr=SR), abs=1e-9)
    assert v["models"]["close"]["clip"] > v["models"]["hissy"]["clip"]
    assert v["models"]["close"]["clip"] > v["models"]["dull"]["clip"]
    assert "excerpt" not in v["models"] and "0.96 s" in v["skipped"]["excerpt"]["clip"]
    ag = v["agreement"]
    assert ag["clips"] == ["clip"] and set(ag["models"]) == {"close", "hissy", "dull"}
    assert ag["models"]["close"]["rank_visqol"] == 1 and ag["models"]["close"]["rank_esr"] == 1
    assert -1.0 <= ag["spearman"] <= 1.0 and "Spearman ρ" in ag["sentence"]
    assert v["wall_s"] > 0 and v["calls"] == 5
    # the table: the two controls, then each scored model, one column per clip and the mean
    result = {"visqol": v, "visqol_controls": v["controls"],
              "models": {m: {"visqol": s} for m, s in v["models"].items()}}
    table = str(visqol_html(result))
    assert table.count("<tr>") == 1 + 2 + 3
    assert "target against itself" in table and "C (1.5 s)" in table
    assert "excerpt on C" in table and ag["sentence"].split(":")[0] in table


def test_models_ranked_differently_by_visqol_and_esr_are_named():
    from fxlab.evaluate.visqol import agreement_with_esr

    scores = {m: {"c": s} for m, s in zip("abcd", (4.5, 4.0, 3.5, 3.0), strict=True)}
    esr = {m: {"c": (e, 1.0)} for m, e in zip("abcd", (0.4, 0.01, 0.02, 0.03), strict=True)}
    ag = agreement_with_esr(scores, esr)
    assert ag["disagree"] == ["a"]  # 1st by ViSQOL, 4th by ESR; the others move one place
    assert ag["spearman"] == pytest.approx(-0.2)
    assert "a (1st by ViSQOL, 4th by ESR)" in ag["sentence"]
    two = agreement_with_esr({m: scores[m] for m in "ab"}, esr)
    assert two["spearman"] is None and "three models" in two["sentence"]


@pytest.mark.parametrize("kwargs", [{"visqol_seconds": 0.5}, {"visqol_seconds": -1.0},
                                    {"visqol": "yes"}])
def test_eval_config_refuses_a_visqol_setting_it_cannot_score(kwargs):
    from fxlab.evaluate import EvalConfig

    with pytest.raises(ParameterError, match="visqol.*Fix:"):
        EvalConfig(**kwargs)
