"""fxlab.export.graybox: the gray-box emulator's JSON, run from the JSON alone, equals fxlab's output.

Each document is run by a reader written here from the document's own ``formulas`` -- numpy and
``scipy.signal.sosfilt`` (transposed direct form II, float64) and ``np.tanh``, nothing of fxlab --
and compared with ``TrainedModel.predict`` within 1e-5: a linear emulator trained on the study's
EQ, a Wiener--Hammerstein one (8 tanh units) and knob-conditioned ones with weights set by hand.
A conditioned emulator's table is checked at every setting it lists, and its controller's formula
(theta from the knobs, the maps to Hz/dB/Q, the Audio EQ Cookbook) at a setting it does not list.
The network formats refuse the emulator, naming the reason and the format that holds it.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.signal

from fxlab import export
from fxlab.cli import main
from fxlab.errors import ParameterError
from fxlab.training import load_trained

SR = 44100
TOL = 1e-5
NETWORK_FORMATS = ("aidax", "rtneural", "nam", "onnx", "tflite")


# ------------------------------------------------------------------ the reader, from the JSON alone


def run_chain(chain, x):
    """The chain of a document on ``x``, as its ``formulas`` say (float64)."""
    y = np.asarray(x, np.float64)
    for block in chain:
        if block["block"] == "eq":
            sos = np.array([[s["b0"], s["b1"], s["b2"], 1.0, s["a1"], s["a2"]] for s in block["sections"]])
            y = scipy.signal.sosfilt(sos, y) * block["output_gain"]
        elif block["block"] == "drive":
            y = block["gain"] * y
        elif block["block"] == "delay":
            y = np.concatenate([np.zeros(block["samples"]), y])[:y.size]
        else:
            c, w, d = (np.asarray(block[k], np.float64)[:, None] for k in "cwd")
            y = block["l"] * y + np.sum(c * (np.tanh(w * y + d) - np.tanh(d)), axis=0)
    return y


def _sigmoid(r):
    return 1.0 / (1.0 + np.exp(-r))


def _cookbook(kind, f, g, q, sr):
    """RBJ's Audio EQ Cookbook: ``(b, a)`` normalised ``a0 = 1``."""
    big_a, w0 = 10.0 ** (g / 40.0), 2.0 * math.pi * f / sr
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    sa = 2.0 * math.sqrt(big_a) * alpha
    if kind == "peak":
        b = [1 + alpha * big_a, -2 * cw, 1 - alpha * big_a]
        a = [1 + alpha / big_a, -2 * cw, 1 - alpha / big_a]
    elif kind == "lowshelf":
        b = [big_a * ((big_a + 1) - (big_a - 1) * cw + sa), 2 * big_a * ((big_a - 1) - (big_a + 1) * cw),
             big_a * ((big_a + 1) - (big_a - 1) * cw - sa)]
        a = [(big_a + 1) + (big_a - 1) * cw + sa, -2 * ((big_a - 1) + (big_a + 1) * cw),
             (big_a + 1) + (big_a - 1) * cw - sa]
    else:  # highshelf
        b = [big_a * ((big_a + 1) + (big_a - 1) * cw + sa), -2 * big_a * ((big_a - 1) + (big_a + 1) * cw),
             big_a * ((big_a + 1) + (big_a - 1) * cw - sa)]
        a = [(big_a + 1) - (big_a - 1) * cw + sa, 2 * ((big_a - 1) - (big_a + 1) * cw),
             (big_a + 1) - (big_a - 1) * cw - sa]
    return np.array(b) / a[0], np.array(a) / a[0]


def _section(kind, p, sr):
    """One section's ``b0 b1 b2 a1 a2`` from its readable parameters, as ``controller.sections`` says."""
    if kind in ("hp2", "lp2"):  # 1 + depth * (the Cookbook's HPF/LPF - 1)
        w0 = 2.0 * math.pi * p["freq_hz"] / sr
        cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * p["q"])
        b = ([(1 + cw) / 2, -(1 + cw), (1 + cw) / 2] if kind == "hp2"
             else [(1 - cw) / 2, 1 - cw, (1 - cw) / 2])
        a = np.array([1 + alpha, -2 * cw, 1 - alpha])
        b = np.array(b) / a[0]
        a = a / a[0]
        num = a + p["depth"] * (b - a)
        return {"b0": num[0], "b1": num[1], "b2": num[2], "a1": a[1], "a2": a[2]}
    if kind in ("hp1", "lp1"):  # 1 - depth * (the complementary first-order Butterworth)
        b, a = scipy.signal.butter(1, p["freq_hz"], "lowpass" if kind == "hp1" else "highpass", fs=sr)
        num = a - p["depth"] * b
        return {"b0": num[0], "b1": num[1], "b2": 0.0, "a1": a[1], "a2": 0.0}
    b, a = _cookbook(kind, p["freq_hz"], p["gain_db"], p["q"], sr)
    return {"b0": b[0], "b1": b[1], "b2": b[2], "a1": a[1], "a2": a[2]}


def chain_from_controller(doc, k):
    """The chain at normalised knob values ``k [K]`` from ``controller`` alone (its formula, its
    ``theta_layout``, its ``maps``, its ``sections``)."""
    ctrl, sr = doc["controller"], doc["sample_rate"]
    arr = {n: np.asarray(ctrl[n], np.float64) for n in ("theta", "A", "W1", "b1", "W2")}
    th = arr["theta"] + k @ arr["A"] + np.tanh(k @ arr["W1"] + arr["b1"]) @ arr["W2"]
    lay = ctrl["theta_layout"]

    def eq(name):
        sections = []
        for s in lay[name]["sections"]:
            p = {"freq_hz": sr * 1e-5 * math.exp(math.log(0.49 / 1e-5) * _sigmoid(th[s["freq"]])),
                 "gain_db": 30.0 * math.tanh(th[s["gain"]]), "depth": min(max(th[s["gain"]], 0.0), 1.0),
                 "q": 0.1 * math.exp(math.log(20.0 / 0.1) * _sigmoid(th[s["q"]]))}
            keep = {"hp1": ("freq_hz", "depth"), "lp1": ("freq_hz", "depth"),
                    "hp2": ("freq_hz", "depth", "q"), "lp2": ("freq_hz", "depth", "q")}.get(
                s["kind"], ("freq_hz", "gain_db", "q"))
            sections.append({"kind": s["kind"], **{key: p[key] for key in keep}, **_section(s["kind"], p, sr)})
        return {"block": "eq", "name": name, "output_gain": 10.0 ** th[lay[name]["output_gain"]],
                "sections": sections}

    delay = [b for b in doc["chain"] if b["block"] == "delay"]  # not a weight: as the chain has it
    if "eq" in lay:
        return [*delay, eq("eq")]
    sh = lay["shaper"]
    return [*delay, eq("pre"), {"block": "drive", "gain": 10.0 ** th[lay["drive"]]},
            {"block": "shaper", "l": th[sh["l"]], "c": th[sh["c"]], "w": np.exp(th[sh["w"]]),
             "d": th[sh["d"]]}, eq("post")]


# ------------------------------------------------------------------ models


def _damped(km, rng, *, controller=False):
    """Weights whose sections all do something (and decay within a few hundred samples), a
    10 dB drive into a perturbed curve, and a controller that moves them."""
    from fxlab.models import graybox

    layer = km.get_layer("graybox")
    th = layer.theta.numpy()
    s, u = layer.cfg["sections"], layer.cfg["shaper"]
    n_eq = graybox.n_eq_params(s)
    for start in ((0,) if u == 0 else (0, th.size - n_eq)):
        for i, kind in enumerate(graybox.layout(s)):
            j = start + 3 * i
            f = {"hp1": 200.0, "lp1": 9000.0}.get(kind, rng.uniform(300.0, 6000.0))
            th[j] = graybox.freq_weight(f / SR)
            th[j + 1] = rng.uniform(0.5, 0.9) if kind in ("hp1", "lp1") else rng.uniform(-0.3, 0.3)
            th[j + 2] = rng.uniform(-1.5, -0.5)
        th[start + 3 * s] = rng.uniform(-0.1, 0.1)
    if u:
        th[n_eq] = 0.5  # drive +10 dB
        th[n_eq + 1] = 0.1  # a little of the linear term
        th[n_eq + 2:n_eq + 2 + 3 * u] += rng.standard_normal(3 * u) * 0.2
    layer.theta.assign(th)
    if controller:
        for v in (layer.ctrl_a, layer.ctrl_w2):
            v.assign((rng.standard_normal(v.shape) * 0.15).astype(np.float32))
    return km


def _folder(root, *, seed, knobs=(), **params):
    """A model folder as training writes one, the weights set by :func:`_damped`."""
    import keras

    from fxlab import __version__
    from fxlab.models import build_model, config_of

    km = _damped(build_model("graybox", seed=seed, knobs=len(knobs), **params),
                 np.random.default_rng(seed), controller=bool(knobs))
    root.mkdir(parents=True)
    km.save(root / "model.keras")
    config = {"train": {"model": "graybox", "model_params": {**params, "knobs": len(knobs)}},
              "model": config_of(km), "knobs": [k.to_dict() for k in knobs], "sr": SR,
              "data_manifest_hash": f"by-hand-{seed}", "fxlab_version": __version__,
              "keras_backend": keras.backend.backend(),
              "input_range": {"peak_dbfs": 0.0, "active_p5_dbfs": -20.0, "active_p95_dbfs": -6.0}}
    (root / "config.json").write_text(json.dumps(config))
    (root / "summary.json").write_text(json.dumps({"best": {"val1_esr": 0.0123}, "best_epoch": 1}))
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """``linear`` (trained on the study's EQ), ``shaper`` (Wiener--Hammerstein, 8 units),
    ``knob1`` (4 units, the drive's gain, in a run whose manifest lists its settings) and
    ``knob2`` (linear, gain and tone, no run): each exported to every format that holds it."""
    from fxlab.effects import STUDY_EFFECT, effect_from_spec, get_effect
    from fxlab.training import TrainConfig, train

    root = tmp_path_factory.mktemp("graybox_export")
    rng = np.random.default_rng(0)
    eq = effect_from_spec(STUDY_EFFECT)
    dry, dry2 = (rng.uniform(-0.95, 0.95, n).astype(np.float32) for n in (3 * SR, SR))
    cfg = TrainConfig(model="graybox", epochs=1, batch_size=4, learning_rate=1e-4, segment=16384,
                      warmup=4096)
    train({"train": (dry, eq(dry, SR)), "val1": (dry2, eq(dry2, SR))}, root / "linear", cfg, verbose=0)
    drive = get_effect("drive")
    out = {"linear": root / "linear",
           "shaper": _folder(root / "shaper", seed=1, shaper=8),
           "knob1": _folder(root / "run" / "models" / "graybox", seed=2, shaper=4,
                            knobs=(drive.knob("gain_db"),)),
           "knob2": _folder(root / "knob2", seed=3, knobs=(drive.knob("gain_db"), drive.knob("tone")))}
    manifest = {"sr": SR, "effect": {"name": "drive", "params": {"gain_db": 20.0}},
                "conditioning": {"knobs": [drive.knob("gain_db").to_dict()],
                                 "train_settings": [{"gain_db": v} for v in (0.0, 10.0, 30.0, 40.0)],
                                 "val_settings": [{"gain_db": 20.0}]}}
    (root / "run" / "data").mkdir(parents=True)
    (root / "run" / "data" / "manifest.json").write_text(json.dumps(manifest))
    for folder in out.values():
        export.export_all(folder)
    return out


@pytest.fixture(scope="module")
def signal():
    """Noise, a swept sine near full scale, a step and silence (the filters' tails)."""
    rng = np.random.default_rng(7)
    t = np.arange(3000) / SR
    sweep = 0.9 * np.sin(2 * np.pi * (50 + 3000 * t) * t)
    return np.concatenate([rng.uniform(-0.5, 0.5, 3000), sweep, -0.8 * np.ones(300),
                           np.zeros(700)]).astype(np.float32)


def _doc(folder):
    return json.loads((folder / "export" / f"{folder.name}.graybox.json").read_text())


def _close(got, want):
    err = float(np.max(np.abs(got - want)))
    print(f"largest difference from fxlab's output: {err:.2e}")
    assert err < TOL, err
    return err


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("case", ["linear", "shaper"])
def test_the_json_alone_plays_as_fxlab_does(folders, signal, case):
    doc = _doc(folders[case])
    assert (doc["format"], doc["version"], doc["sample_rate"]) == ("fxlab-graybox", 1, SR)
    assert doc["precision"]["recommended"] == "float64"
    assert doc["structure"] == {"linear": "linear", "shaper": "wiener-hammerstein"}[case]
    assert [b["block"] for b in doc["chain"] if b["block"] != "delay"] == (
        ["eq"] if case == "linear" else ["eq", "drive", "shaper", "eq"])
    assert doc["knobs"] == [] and doc["controller"] is None and doc["settings"] == []
    want = load_trained(folders[case]).predict(signal)
    assert np.std(want) > 0.05  # the emulator does something: the check can fail
    _close(run_chain(doc["chain"], signal), want)
    first = doc["chain"][0]["sections"][0]
    assert first["kind"] == "hp1" and {"freq_hz", "depth", "b0", "b1", "b2", "a1", "a2"} <= set(first)
    peak = doc["chain"][0]["sections"][-1]
    assert peak["kind"] == "peak" and {"gain_db", "q"} <= set(peak)
    if case == "linear":  # the study's 440 Hz first-order high-pass, read off the document
        assert abs(first["freq_hz"] - 440.0) < 5.0 and first["depth"] > 0.95
    else:
        shaper = doc["chain"][2]
        assert len(shaper["c"]) == len(shaper["w"]) == len(shaper["d"]) == shaper["units"] == 8


def test_a_conditioned_emulators_table_plays_each_setting_as_fxlab_does(folders, signal):
    doc = _doc(folders["knob1"])
    tm = load_trained(folders["knob1"])
    assert [k["name"] for k in doc["knobs"]] == ["gain_db"] and doc["chain_at"] == {"gain_db": 20.0}
    table = doc["settings"]  # the run's manifest: four trained settings, one held out
    assert [(e["source"], e["knobs"]["gain_db"]) for e in table] == [
        ("trained", 0.0), ("trained", 10.0), ("trained", 30.0), ("trained", 40.0), ("held out", 20.0)]
    outs = {}
    for entry in table:
        want = tm.predict(signal, knobs=entry["knobs"])
        _close(run_chain(entry["chain"], signal), want)
        assert entry["inputs"] == [pytest.approx(entry["knobs"]["gain_db"] / 40.0)]
        outs[entry["knobs"]["gain_db"]] = want
    assert np.max(np.abs(outs[0.0] - outs[40.0])) > 1e-2  # the knob matters
    assert doc["chain"] == table[-1]["chain"]  # the chain at the default is the held-out 20 dB


@pytest.mark.parametrize("case", ["knob1", "knob2"])
def test_the_controller_formula_alone_gives_a_setting_the_table_does_not_list(folders, signal, case):
    doc = _doc(folders[case])
    tm = load_trained(folders[case])
    maps = doc["controller"]["maps"]  # what the reader above implements
    assert maps["freq_hz"] == "sample_rate * 1e-05 * exp(ln(0.49 / 1e-05) * sigmoid(r))"
    assert maps["gain_db"].startswith("30 * tanh(r)") and maps["q"].startswith("0.1 * exp(ln(20 / 0.1)")
    assert maps["output_gain"] == maps["drive_gain"] == "10 ** min(max(r, -6), 6)"
    knobs = tm.knobs
    setting = {"gain_db": 13.7, "tone": 0.31}
    setting = {k.name: setting[k.name] for k in knobs}
    u = np.array([k.normalise(setting[k.name]) for k in knobs])
    _close(run_chain(chain_from_controller(doc, u), signal), tm.predict(signal, knobs=setting))
    # at a listed setting the formula gives the table's parameters and coefficients
    entry = doc["settings"][1]
    mine = chain_from_controller(doc, np.asarray(entry["inputs"]))
    for ours, theirs in zip(mine, entry["chain"], strict=True):
        for s_ours, s_theirs in zip(ours.get("sections", ()), theirs.get("sections", ()), strict=True):
            for key, value in s_theirs.items():
                assert s_ours[key] == (value if key == "kind" else pytest.approx(value, rel=1e-9, abs=1e-12))
    if case == "knob2":  # no run around it: the grid, 5 values of each of 2 knobs
        assert len(doc["settings"]) == 25 and {e["source"] for e in doc["settings"]} == {"grid"}


def test_the_network_formats_refuse_the_emulator_naming_the_reason_and_graybox(folders, tmp_path):
    reasons = export.formats_for(folders["shaper"])
    assert reasons["graybox"] is None
    for fmt in NETWORK_FORMATS:
        assert "not a network" in reasons[fmt], fmt
        with pytest.raises(ParameterError) as err:
            export.export(folders["shaper"], fmt, tmp_path / f"x.{fmt}")
        msg = str(err.value)
        assert f"format {fmt!r} cannot hold it" in msg and "gray-box emulator" in msg
        assert "a format that holds it: graybox" in msg and "export --format graybox" in msg
    assert "finite impulse response" in reasons["nam"]  # NAM's Linear is an FIR: not this
    assert not any((tmp_path / f"x.{fmt}").exists() for fmt in NETWORK_FORMATS)
    assert {p.name for p in (folders["shaper"] / "export").iterdir()} == {
        "shaper.graybox.json", "MODEL_CARD.md"}


def test_the_graybox_format_refuses_a_network(tmp_path):
    from knob_support import write_conditioned_model

    lstm = write_conditioned_model(tmp_path / "lstm", units=4)
    reason = export.formats_for(lstm)["graybox"]
    assert "gray-box emulator only" in reason
    with pytest.raises(ParameterError, match="a format that holds it: rtneural, onnx, tflite"):
        export.export(lstm, "graybox", tmp_path / "x.graybox.json")


def test_the_card_says_what_the_emulator_is_and_how_to_run_it(folders):
    card = (folders["shaper"] / "export" / "MODEL_CARD.md").read_text()
    assert card.startswith("# graybox: graybox (Wiener-Hammerstein: EQ of 8 sections -> drive -> 8 tanh")
    for text in ("## What it is", "not a network", "**EQ before the curve**", "**EQ after the curve**",
                 "| 1 | hp1 | 200.0 Hz | — | depth", " Hz | ", " dB | Q ", "**Drive**: +10.00 dB",
                 "tanh(w[k]*u + d[k])", "## How to run it", "float64", "scipy.signal.sosfilt",
                 "**Input skip**: no", "**Held-out ESR**: 0.0123", "s per second of audio at 64-sample",
                 "`numba` engine", "| graybox | `shaper.graybox.json` |"):
        assert text in card, text
    linear = (folders["linear"] / "export" / "MODEL_CARD.md").read_text()
    assert "graybox (EQ of 8 sections)" in linear and "| 1 | hp1 | 44" in linear
    knob = (folders["knob1"] / "export" / "MODEL_CARD.md").read_text()
    assert "## Knob inputs" in knob and "The emulator's parameters follow 1 knob" in knob
    assert "at the knobs' defaults (gain_db = 20)" in knob and "input skip adds" not in knob
    assert "- **Emulates**: drive (gain_db=20.0)" in knob


def test_the_export_command_writes_the_json_and_its_card(folders, tmp_path, capsys):
    out = tmp_path / "mine.graybox.json"
    assert main(["export", str(folders["shaper"]), "--format", "graybox", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["metadata"]["input_skip"] is False
    assert (tmp_path / "mine.graybox.json.md").exists() and str(out) in capsys.readouterr().out
    assert main(["export", str(folders["shaper"]), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "not a network" in capsys.readouterr().err


@pytest.mark.slow
def test_notebook_05_times_streams_and_exports_a_graybox(tmp_path):
    """Notebook 05 under papermill on a run whose one model is a conditioned gray-box emulator:
    timed like a network, streamed with its knob moving, exported as its JSON."""
    from pathlib import Path

    import papermill
    from browser_support import make_run_dir
    from knob_support import add_conditioned_run

    from fxlab.effects import get_effect

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "05_latency.ipynb"
    run = add_conditioned_run(make_run_dir(tmp_path / "reports" / "r1", seconds=0.5, models=()),
                              models=())
    _folder(run / "models" / "graybox", seed=4, shaper=2, knobs=(get_effect("drive").knob("gain_db"),))
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(notebook), str(out), cwd=str(notebook.parent), progress_bar=False,
        parameters={"run_dir": str(run), "block_sizes": "1,64", "n_blocks": 20,
                    "seconds_per_config": 0.1, "export_model": "graybox"})
    result = json.loads((run / "latency.json").read_text())
    entry = result["models"]["graybox"]
    assert entry["kind"] == "graybox" and entry["engines"] == {"numba": None}
    assert entry["summary"]["rtf"] > 0 and entry["summary"]["rtf_moved_64"] > 0
    text = out.read_text()
    assert "Traceback" not in text and "The knob moved while it played: `gain_db`" in text
    assert (run / "latency" / "stream_graybox_val2.wav").is_file()
    exported = run / "export" / "graybox"
    assert {p.name for p in exported.iterdir()} == {"graybox.graybox.json", "MODEL_CARD.md"}
    doc = json.loads((exported / "graybox.graybox.json").read_text())
    assert doc["format"] == "fxlab-graybox" and [e["source"] for e in doc["settings"]] == [
        "trained"] * 4 + ["held out"]
    assert "## What it is" in (exported / "MODEL_CARD.md").read_text()
