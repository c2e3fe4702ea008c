"""fxlab.plots: each step's figures on small hand-made inputs (what the notebooks draw), and the
package's start-up weight.

The evaluation's figures are exercised in test_metrics.py and test_harmonics.py, the listening
test's in test_listening.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure

from fxlab.capture.alignment import estimate_latency
from fxlab.data_html import knob_settings_html, players_html
from fxlab.effects import get_effect
from fxlab.latency import KNOBS_MOVED
from fxlab.plots.capture import plot_latency_evidence
from fxlab.plots.common import hz_axis, save_figure, spectrum_db
from fxlab.plots.data import (
    plot_effect_response,
    plot_knob_settings,
    plot_signal_overview,
    plot_split_overview,
)
from fxlab.plots.evaluation import plot_error_vs_knob
from fxlab.plots.latency import rtf_figure
from fxlab.plots.sweep import plot_against
from fxlab.plots.training import plot_history
from fxlab.signals import make_chunk
from fxlab.sweep.compare import series_against

SR = 44100
CONDITIONING = {"knobs": [{"name": "gain_db", "low": 0.0, "high": 40.0, "default": 20.0,
                           "unit": "dB", "scale": "linear"}],
                "train_settings": [{"gain_db": 0.0}, {"gain_db": 40.0}],
                "val_settings": [{"gain_db": 20.0}]}


def _png(fig: Figure, path) -> int:
    return save_figure(fig, path).stat().st_size


def test_importing_the_package_imports_no_matplotlib():
    code = "import sys, fxlab.plots; print(any(m.startswith('matplotlib') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_common_spectrum_has_no_dc_bin_and_hz_axis_is_log(tmp_path):
    x = make_chunk("white", n=SR // 2, sr=SR, seed=3)
    f, db = spectrum_db(x, sr=SR, n_fft=1024)
    assert f[0] > 0 and f.shape == db.shape == (512,)
    ax = Figure().subplots()
    hz_axis(ax, f_lo=50.0, f_hi=5000.0)
    assert ax.get_xscale() == "log" and ax.get_xlim() == (50.0, 5000.0)
    assert 440 in ax.get_xticks()


def test_data_step_figures_and_html(tmp_path):
    dry = make_chunk("pink", n=SR // 4, sr=SR, seed=1)
    hp = get_effect("highpass", cutoff_hz=440.0, order=1)
    wet = hp(dry, SR)
    fig = plot_signal_overview(dry, wet, sr=SR, title="pink")
    assert fig._suptitle.get_text() == "pink" and fig.axes[1].get_xscale() == "log"
    assert _png(fig, tmp_path / "overview.png") > 10_000
    fig = plot_effect_response(hp, sr=SR, cutoff_hz=440.0)
    assert any("at 440 Hz" in t.get_text() for t in fig.axes[0].texts)
    split = SimpleNamespace(name="train", sr=SR, dry=np.concatenate([dry, dry]), seconds=0.5,
                            chunks=[{"start": 0, "kind": "pink", "envelope": "flat"},
                                    {"start": dry.size, "kind": "pink", "envelope": "rise"}],
                            settings=[{"start": 0, "setting": {"gain_db": 0.0}},
                                      {"start": dry.size, "setting": {"gain_db": 40.0}}])
    fig = plot_split_overview(split)
    assert "2 knob settings in turn" in fig.axes[0].get_title()
    drive = get_effect("drive", gain_db=20.0)
    fig = plot_knob_settings(drive, CONDITIONING, sr=SR)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["dry", "gain_db=0 (trained on)", "gain_db=20 (held out)",
                      "gain_db=40 (trained on)"]
    dataset = SimpleNamespace(conditioning=CONDITIONING, split_names=("train", "val1"),
                              manifest={"splits": {"train": {"settings": [
                                  {"setting": {"gain_db": 0.0}}, {"setting": {"gain_db": 40.0}}]},
                                  "val1": {"settings": [{"setting": {"gain_db": 20.0}}]}}})
    page = knob_settings_html(dataset)
    assert "gain_db [0, 40] dB" in page and "held out (never trained on)" in page
    assert "<p>Not conditioned" in knob_settings_html(SimpleNamespace(conditioning=None))
    players = players_html({"dry": dry, "wet": wet}, sr=SR)
    assert players.count("<audio") == 2 and "dBFS" in players


def test_training_history_one_panel_per_model(tmp_path):
    for name, epochs in (("lstm", 3), ("gru", 1)):
        d = tmp_path / name
        d.mkdir()
        rows = ["epoch,loss,val1_loss,val1_esr,val2_loss,val2_esr"]
        rows += [f"{e},{0.1 / e},{0.2 / e},{0.3 / e},{0.25 / e},{0.35 / e}"
                 for e in range(1, epochs + 1)]
        (d / "history.csv").write_text("\n".join(rows) + "\n")
        (d / "summary.json").write_text(json.dumps({"best_epoch": epochs, "param_count": 100}))
        (d / "config.json").write_text(json.dumps({"train": {"loss": "esr"}}))
    fig = plot_history([tmp_path / "lstm", tmp_path / "gru"], metric="loss")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["lstm (100 parameters)", "gru (100 parameters)"]
    assert shown[0].get_ylabel() == "loss (esr)" and shown[0].get_yscale() == "log"
    fig = plot_history([tmp_path / "lstm"], metric="esr")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "Validation 1 (synthetic) esr", "Validation 2 (speech) esr", "best epoch"]
    assert _png(fig, tmp_path / "history.png") > 5_000


def test_error_against_the_knob_marks_unseen_settings_open():
    scores = {"knobs": CONDITIONING["knobs"], "models": {"lstm": [
        {"setting": {"gain_db": 0.0}, "seen": True, "esr": 0.01},
        {"setting": {"gain_db": 20.0}, "seen": False, "esr": 0.05},
        {"setting": {"gain_db": 40.0}, "seen": True, "esr": 0.02}]}}
    ax = plot_error_vs_knob(scores).axes[0]
    assert ax.get_xlabel() == "gain_db (dB)" and ax.get_yscale() == "log"
    unseen = [line for line in ax.lines if line.get_markerfacecolor() == "white"]
    assert len(unseen) == 1 and list(unseen[0].get_xdata()) == [20.0]


def test_rtf_figure_one_panel_per_model_and_saved(tmp_path):
    blocks = [1, 16, 64, 256, 1024, 4096]
    rows = [{"model": "lstm", "engine": "numba", "block_size": b, "rtf": 2.0 / b ** 0.5,
             "rtf_p99": 3.0 / b ** 0.5, "knobs": knobs}
            for b in blocks for knobs in (None, KNOBS_MOVED)]
    rows.append({"model": "lstm", "engine": "keras", "block_size": 16, "skipped": "too slow"})
    result = {"sr": SR, "block_sizes": blocks, "measurements": rows,
              "models": {"lstm": {"kind": "recurrent",
                                  "engines": {"numba": None, "keras": "too slow"}}}}
    path = tmp_path / "figures" / "latency_rtf.png"
    fig = rtf_figure(result, save_to=path)
    ax = fig.axes[0]
    assert ax.get_title() == "lstm (recurrent)" and ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "numba", "numba, knob moved every block"]
    assert path.stat().st_size > 5_000


def _row(point, units, seed, esr, status="ok"):
    """A row of :func:`fxlab.sweep.compare.collect` (a failed point has no numbers)."""
    return {"point": point, "status": status, "sample_units": units, "seed": seed, "model": "lstm",
            "esr_v1": esr, "esr_v2": None if esr is None else 2 * esr,
            "lsd_v2_db": None if esr is None else 1.0 + esr}


def test_sweep_series_and_figure_against_a_swept_value(tmp_path):
    rows = [_row("a", 4, 0, 0.020), _row("b", 4, 1, 0.021), _row("c", 8, 0, 0.01),
            _row("d", 8, 1, None, status="failed")]
    series = series_against(rows, ["sample_units", "seed"], "sample_units", ["esr_v1", "lsd_v2_db"])
    assert series["param"] == "sample_units" and series["ticks"] is None
    esr, lsd = series["panels"]
    assert esr["log"] and not lsd["log"] and esr["title"] == "ESR, Validation 1"
    (line,) = esr["lines"]
    assert line["label"] == "lstm" and line["x"] == [4, 8]
    assert line["mean"] == pytest.approx([0.0205, 0.01])  # the mean over seeds; one seed at 8
    assert 0 < line["low"][0] < 0.0205 < line["high"][0]
    assert line["low"][1] == line["high"][1] == 0.01
    wide = series_against([*rows, _row("e", 4, 2, 0.5)], ["sample_units", "seed"], "sample_units",
                          ["esr_v1"])
    assert not wide["panels"][0]["log"]  # an interval reaching below 0 has no place on a log axis
    fig = plot_against(series)
    assert [ax.get_title() for ax in fig.axes] == ["ESR, Validation 1", "log-spectral distance, "
                                                   "Validation 2 (dB)"]
    assert fig.axes[0].get_yscale() == "log" and fig.axes[1].get_yscale() == "linear"
    words = series_against([_row("a", "small", 0, 0.02), _row("b", "big", 0, 0.03)],
                           ["sample_units"], "sample_units", ["esr_v1"])
    assert words["ticks"] == [(0, "small"), (1, "big")]
    fig = plot_against(words)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["small", "big"]
    assert save_figure(fig, tmp_path / "f.png", tight=True).stat().st_size > 5_000


def test_latency_evidence_marks_the_onset(tmp_path):
    rng = np.random.default_rng(0)
    dry = rng.standard_normal(SR // 2).astype(np.float32) * 0.3
    wet = np.concatenate([np.zeros(12, np.float32), dry[:-12]])
    est = estimate_latency(dry, wet, max_lag=64)
    assert est.samples == 12
    fig = plot_latency_evidence(est, sr=SR, title="latency", caption="the evidence")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("onset (latency) 12 samples")
    assert _png(fig, tmp_path / "alignment.png") > 10_000
