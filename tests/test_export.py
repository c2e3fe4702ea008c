"""fxlab.export: each exported file read back by its consumer's reader equals fxlab's output.

Three tiny models are trained once (through ``fxlab train --export``, on a real WAV pair): a
2-layer LSTM (RTNeural JSON, .nam, ONNX, TFLite), a 1-layer GRU of 8 units (AIDA-X too) and a
3-layer TCN (ONNX, TFLite). Each
file is read by the reader its players rely on -- onnxruntime, the LiteRT interpreter,
neural-amp-modeler's own loader (marker ``interop``: skipped without the ``interop`` extra) -- or,
for the RTNeural/AIDA-X JSON whose readers are C++, checked against the schema the players parse
and run by fxlab's numpy reference reader; every output is compared with
``TrainedModel.predict`` on a test signal within 1e-5.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from fxlab import export
from fxlab.cli import main
from fxlab.errors import ParameterError, UnknownNameError
from fxlab.export import rtneural
from fxlab.training import load_trained

SR = 44100
TOL = 1e-5


def _has(*modules):
    return all(importlib.util.find_spec(m) is not None for m in modules)


interop = pytest.mark.interop


def _needs(*modules):
    return pytest.mark.skipif(not _has(*modules), reason=f"needs the interop extra ({', '.join(modules)})")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """``{"lstm": folder, "gru": folder, "tcn": folder}`` trained by ``fxlab train ... --export all``."""
    root = tmp_path_factory.mktemp("export")
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 6 * 1024).astype(np.float32)
    b, a = scipy.signal.butter(1, 440, "highpass", fs=SR)
    sf.write(root / "dry.wav", x, SR, subtype="FLOAT")
    sf.write(root / "wet.wav", scipy.signal.lfilter(b, a, x).astype(np.float32), SR, subtype="FLOAT")
    out = {}
    for name, units, layers in (("lstm", 8, 2), ("gru", 8, 1), ("tcn", None, 3)):
        folder = root / name
        size = ["--units", str(units)] if units else []
        rc = main(["train", "--dry", str(root / "dry.wav"), "--wet", str(root / "wet.wav"),
                   "--model", name, "--out", str(folder), "--epochs", "1", *size,
                   "--layers", str(layers), "--segment", "256", "--batch-size", "4",
                   "--export", "all"])
        assert rc == 0
        out[name] = folder
    return out


@pytest.fixture(scope="module")
def signal():
    """A test signal reaching full scale: noise, a swept sine, a step to -1 and silence."""
    rng = np.random.default_rng(7)
    t = np.arange(1500) / SR
    sweep = 0.99 * np.sin(2 * np.pi * (100 + 4000 * t) * t)
    return np.concatenate([rng.uniform(-1, 1, 1000), sweep, -np.ones(200), np.zeros(300)]).astype(np.float32)


@pytest.fixture(scope="module")
def reference(models, signal):
    return {name: load_trained(folder).predict(signal) for name, folder in models.items()}


def _file(models, name, fmt):
    return models[name] / "export" / f"{name}{export.FORMATS[fmt].extension}"


def test_train_exports_every_format_its_family_holds_and_says_why_not_the_others(models):
    written = {p.name for p in (models["lstm"] / "export").iterdir()}
    assert written == {"lstm.json", "lstm.nam", "lstm.onnx", "lstm.tflite", "MODEL_CARD.md"}
    written = {p.name for p in (models["gru"] / "export").iterdir()}
    assert written == {"gru.aidax", "gru.json", "gru.onnx", "gru.tflite", "MODEL_CARD.md"}
    written = {p.name for p in (models["tcn"] / "export").iterdir()}
    assert written == {"tcn.onnx", "tcn.tflite", "MODEL_CARD.md"}
    card = (models["lstm"] / "export" / "MODEL_CARD.md").read_text()
    esr = json.loads((models["lstm"] / "summary.json").read_text())["best"]["val_esr"]
    assert f"{esr:.3g}" in card and "per second of audio at 64-sample blocks" in card
    assert "44100 Hz" in card and "lstm 2x8" in card


@pytest.mark.parametrize("name,fmt", [("lstm", "rtneural"), ("gru", "rtneural"), ("gru", "aidax")])
def test_rtneural_json_conforms_to_the_players_schema_and_its_reference_reader_matches(
        models, signal, reference, name, fmt):
    doc = json.loads(_file(models, name, fmt).read_text())
    assert rtneural.check_document(doc, aidax=fmt == "aidax") == []
    assert doc["in_skip"] == 1 and doc["in_shape"] == [None, None, 1]
    assert [layer["type"] for layer in doc["layers"]][-1] == "dense"
    np.testing.assert_allclose(rtneural.run_document(doc, signal), reference[name], atol=TOL, rtol=0)


def test_rtneural_checks_and_reader_catch_a_wrong_layout_or_gate_order(models, signal, reference):
    doc = json.loads(_file(models, "lstm", "rtneural").read_text())
    bad = json.loads(json.dumps(doc))
    bad["layers"][1]["weights"][1] = np.asarray(bad["layers"][1]["weights"][1]).T[:, :8].tolist()
    bad["in_skip"] = 2
    found = " ".join(rtneural.check_document(bad))
    assert "weights[1] has shape (32, 8), expected (8, 32)" in found and "in_skip" in found
    assert any("AIDA-X plays one lstm/gru layer" in p for p in rtneural.check_document(doc, aidax=True))
    swapped = json.loads(json.dumps(doc))  # forget and output gates exchanged: PyTorch-style mistake
    for k in range(3):
        w = np.asarray(swapped["layers"][0]["weights"][k])
        i, f, c, o = np.split(w, 4, axis=-1)
        swapped["layers"][0]["weights"][k] = np.concatenate([i, o, c, f], axis=-1).tolist()
    assert rtneural.check_document(swapped) == []  # shapes alone cannot see a gate order...
    assert np.abs(rtneural.run_document(swapped, signal) - reference["lstm"]).max() > 1e-3  # ...outputs do


def _stream(run, x, block):
    return np.concatenate([run(x[i:i + block]) for i in range(0, x.size, block)])


@interop
@_needs("onnxruntime")
@pytest.mark.parametrize("name", ["lstm", "gru", "tcn"])
def test_onnxruntime_streams_the_onnx_file_as_fxlab_does(models, signal, reference, name):
    import onnx
    import onnxruntime as ort

    path = _file(models, name, "onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    states = {i.name: np.zeros(i.shape, np.float32) for i in sess.get_inputs() if i.name != "x"}
    names = [o.name for o in sess.get_outputs()]

    def run(block):
        out = sess.run(None, {"x": block, **states})
        states.update({n.removesuffix("_out"): v for n, v in zip(names[1:], out[1:], strict=True)})
        return out[0]

    for block in (64, 5, 333):  # a live block, one shorter than the TCN's buffers, an odd one
        states.update({k: np.zeros_like(v) for k, v in states.items()})
        np.testing.assert_allclose(_stream(run, signal, block), reference[name], atol=TOL, rtol=0)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    meta = json.loads((models[name] / "config.json").read_text())
    assert props["sample_rate"] == "44100" and props["data_manifest_hash"] == meta["data_manifest_hash"]
    assert float(props["val_esr"]) > 0 and props["fxlab_version"]


@interop
@_needs("ai_edge_litert")
@pytest.mark.parametrize("name", ["lstm", "gru", "tcn"])
def test_litert_interpreter_streams_the_tflite_file_as_fxlab_does(models, signal, reference, name):
    from ai_edge_litert.interpreter import Interpreter

    from fxlab.export.tflite import read_metadata

    path = _file(models, name, "tflite")
    it = Interpreter(model_path=str(path), num_threads=1)
    ins = {d["name"]: d for d in it.get_input_details()}
    outs = {d["name"]: d["index"] for d in it.get_output_details()}
    n_states = len(ins) - 1
    states = [np.zeros(ins[f"s{i}"]["shape"], np.float32) for i in range(n_states)]

    def run(block):
        it.resize_tensor_input(ins["x"]["index"], [1, block.size, 1])
        it.allocate_tensors()
        it.set_tensor(ins["x"]["index"], block.reshape(1, -1, 1))
        for i, s in enumerate(states):
            it.set_tensor(ins[f"s{i}"]["index"], s)
        it.invoke()
        states[:] = [it.get_tensor(outs[f"s{i}_out"]).copy() for i in range(n_states)]
        return it.get_tensor(outs["y"]).copy()

    for block in (64, 5):
        states[:] = [np.zeros_like(s) for s in states]
        np.testing.assert_allclose(_stream(run, signal, block), reference[name], atol=TOL, rtol=0)
    meta = read_metadata(path)
    assert meta["sample_rate"] == SR and meta["name"] == name and meta["val_esr"] > 0


@interop
@_needs("nam", "torch")
def test_neural_amp_modelers_own_loader_plays_the_nam_file_as_fxlab_does(models, signal, reference):
    import torch
    from nam.models import init_from_nam

    doc = json.loads(_file(models, "lstm", "nam").read_text())
    model = init_from_nam(doc)
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(signal)[None]).numpy()[0]
    np.testing.assert_allclose(y, reference["lstm"], atol=TOL, rtol=0)
    assert model.sample_rate == SR
    assert doc["config"] == {"input_size": 1, "hidden_size": 9, "num_layers": 2}  # 8 + the skip's unit
    assert doc["metadata"]["training"]["validation_esr"] > 0


def test_a_format_that_cannot_hold_the_model_names_those_that_can(models, tmp_path):
    with pytest.raises(ParameterError, match="aidax, rtneural, onnx, tflite") as err:
        export.export(models["gru"], "nam")
    assert "NAM's architectures" in str(err.value)
    with pytest.raises(ParameterError, match="one LSTM/GRU layer"):
        export.export(models["lstm"], "aidax")
    with pytest.raises(ParameterError, match="a format that holds it: onnx, tflite"):
        export.export(models["tcn"], "nam")
    with pytest.raises(UnknownNameError, match="export format"):
        export.export(models["lstm"], "vst")
    assert export.formats_for(models["gru"])["aidax"] is None
    assert main(["export", str(models["gru"]), "--format", "nam"]) == 2


def test_train_refuses_an_unknown_export_format_before_training(tmp_path, capsys):
    rc = main(["train", "--dry", str(tmp_path / "none.wav"), "--wet", str(tmp_path / "none.wav"),
               "--out", str(tmp_path / "m"), "--export", "vst3"])
    assert rc == 2 and "export format" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_export_command_writes_the_file_and_its_card(models, tmp_path, capsys):
    out = tmp_path / "mine.aidax"
    assert main(["export", str(models["gru"]), "--format", "aidax", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert rtneural.check_document(doc, aidax=True) == []
    assert doc["metadata"]["sample_rate"] == SR and doc["metadata"]["effect"].startswith("the recorded pair")
    assert (tmp_path / "mine.aidax.md").exists()
    assert str(out) in capsys.readouterr().out
