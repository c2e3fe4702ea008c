"""fxlab.runtime.engines: engines run a sample-level recurrent network exactly as Keras does; latency bookkeeping.

Every engine (numba kernel, XLA, TFLite, tf.function, Keras) must give the Keras model's output
within 1e-5, block by block with the state carried, for multi-layer LSTM and GRU networks whose
weights (biases included) are random, so a wrong gate order or bias layout shows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from weights_support import perturb_weights

from fxlab import latency, runtime
from fxlab.errors import EngineUnavailableError, FxlabError, ParameterError, UnknownNameError
from fxlab.models.recurrent import rnn_spec
from fxlab.runtime import engines


@pytest.fixture(scope="module", params=["lstm", "gru"])
def rnn(request):
    from fxlab.models import build_model

    model = build_model(request.param, seed=1, units=8, layers=2)
    return perturb_weights(model, seed=2, scale=0.3)


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(3)
    return (0.5 * rng.standard_normal(300)).astype(np.float32)


def _keras_out(model, x):
    return np.asarray(model(x[None, :, None], training=False)).reshape(-1)


@pytest.mark.parametrize("name", engines.ENGINE_NAMES)
def test_each_engine_equals_keras_streamed(rnn, signal, name):
    ref = _keras_out(rnn, signal)
    eng = engines.make_engine(rnn, name)
    # changing block sizes, the state carried across all of them (few distinct sizes: XLA and
    # Keras compile once per size)
    sizes = [7, 64, 1, 128] if name == "numba" else [7, 64]
    out, i, k = [], 0, 0
    while i < signal.size:
        b = sizes[k % len(sizes)]
        out.append(eng.process(signal[i : i + b]))
        i, k = i + b, k + 1
    y = np.concatenate(out)
    assert y.shape == signal.shape and y.dtype == np.float32
    assert np.max(np.abs(y - ref)) < 1e-5
    # the output is not the input: the network does something
    assert np.max(np.abs(y - signal)) > 1e-2


def test_engine_reset_restarts_from_zero_state(rnn, signal):
    eng = engines.make_engine(rnn, "numba")
    first = eng.process(signal[:100])
    eng.process(signal[100:300])
    eng.reset()
    again = eng.process(signal[:100])
    np.testing.assert_array_equal(first, again)


def test_render_is_the_fast_exact_offline_path(rnn, signal):
    y = runtime.render(rnn, signal)
    assert np.max(np.abs(y - _keras_out(rnn, signal))) < 1e-5
    assert engines.default_engine(rnn) == "numba"


def test_rnn_spec_reads_keras_layouts(rnn):
    spec = rnn_spec(rnn)
    g = 4 if spec.cell == "lstm" else 3
    assert spec.units == (8, 8)
    assert spec.kernels[0].shape == (1, g * 8) and spec.kernels[1].shape == (8, g * 8)
    assert spec.residual is True
    if spec.cell == "gru":
        assert spec.biases[0].shape == (2, 24)


def test_unknown_engine_and_non_rnn_are_clear_errors():
    from fxlab.models import build_model

    lstm = build_model("lstm", seed=0, units=4)
    with pytest.raises(UnknownNameError, match="numba"):
        engines.make_engine(lstm, "onnx")
    tcn = build_model("tcn", seed=0, channels=4, layers=3)
    with pytest.raises(EngineUnavailableError, match="rnn_0"):
        engines.make_engine(tcn, "numba")
    with pytest.raises(EngineUnavailableError, match="numba"):
        runtime.make_processor(tcn, engine="xla")  # the TCN runs on numba or keras only
    with pytest.raises(ParameterError, match="TrainedModel"):
        runtime.render(object(), np.zeros(4, np.float32))
    with pytest.raises(FxlabError, match="shape"):
        runtime.render(lstm, np.zeros((4, 2), np.float32))


def test_a_built_model_states_its_own_config():
    from fxlab.models import build_model, config_of, model_config

    tcn = build_model("tcn", seed=0, channels=4, layers=3)
    assert config_of(tcn) == model_config("tcn", channels=4, layers=3)
    assert config_of(tcn)["receptive_field"] == 15
    cnn = build_model("thesis_cnn", seed=0, window=64, filters=8, kernel=8, groups=2)
    assert config_of(cnn) == model_config("thesis_cnn", window=64, filters=8, kernel=8, groups=2)
    assert config_of(build_model("gru", units=4, layers=2))["layers"] == 2


# ------------------------------------------------------------------------------ latency


def test_time_blocks_values_are_consistent():
    from fxlab.models import build_model

    proc = runtime.make_processor(build_model("lstm", seed=0, units=8))
    e = latency.time_blocks(proc, block_size=64, n_blocks=50, warmup=3, seconds=5.0)
    assert e["n_blocks"] == 50 and e["note"] == ""
    assert e["latency_ms"] == pytest.approx(64 / 44100 * 1e3)
    assert 0 < e["median_ms"] <= e["p99_ms"]
    assert e["rtf"] == pytest.approx(e["median_ms"] / e["latency_ms"])
    assert e["ms_per_sample"] == pytest.approx(e["median_ms"] / 64)


def test_live_answer_picks_smallest_block_under_its_duration():
    def row(b, p99, engine="numba"):
        return {"engine": engine, "block_size": b, "latency_ms": b / 44100 * 1e3, "p99_ms": p99}

    rows = [row(1, 0.05), row(16, 0.5), row(64, 1.0), row(256, 2.0), row(1, 0.03, "xla")]
    ans = latency.live_answer(rows)
    assert ans["smallest_live_block"] == 64 and ans["live_voice"] and ans["live_guitar"]
    ans = latency.live_answer([row(64, 2.0), row(256, 5.0)])
    assert ans["smallest_live_block"] == 256 and not ans["live_voice"] and ans["live_guitar"]
    ans = latency.live_answer([row(4096, 200.0)])
    assert ans["smallest_live_block"] is None and not ans["live_guitar"]


def test_thesis_figures():
    assert latency.THESIS_RTF == pytest.approx(35.28)
    assert round(latency.THESIS_RTF) == 35
    assert latency.BOUNDS_MS == {"voice": 3.0, "guitar": 13.0}


@pytest.mark.parametrize("bad", ["1,0", "64,x", "", "16,-4"])
def test_parse_block_sizes_rejects_bad_lists(bad):
    with pytest.raises(ParameterError):
        latency.parse_block_sizes(bad)


def test_measure_model_records_engines_and_summary():
    from fxlab.models import build_model

    model = build_model("gru", seed=0, units=4)
    entry, rows = latency.measure_model("gru", model, engines="numba,tf_function",
                                        block_sizes=[16, 64], n_blocks=30, log=None)
    assert entry["kind"] == "rnn" and entry["default_engine"] == "numba"
    assert entry["engines"] == {"numba": None, "tf_function": None}
    assert {(r["engine"], r["block_size"]) for r in rows} == {
        ("numba", 16), ("numba", 64), ("tf_function", 16), ("tf_function", 64)}
    rtf64 = next(r["rtf"] for r in rows if r["engine"] == "numba" and r["block_size"] == 64)
    assert entry["summary"]["rtf"] == rtf64
    assert entry["summary"]["best_rtf_64"] <= rtf64


def test_a_conditioned_model_is_timed_with_knobs_at_rest_and_moved_every_block(tmp_path):
    from knob_support import write_conditioned_model

    from fxlab.training import load_trained

    model = load_trained(write_conditioned_model(tmp_path / "lstm", units=4))
    entry, rows = latency.measure_model("lstm", model, engines="numba,tf_function",
                                        block_sizes=[16, 64], n_blocks=20, log=None)
    assert entry["knobs"] == ["gain_db"] and entry["default_engine"] == "numba"
    # at rest on every engine; moved before every block on the first (the default) engine
    assert sorted((r["engine"], r["knobs"], r["block_size"]) for r in rows) == [
        ("numba", "fixed", 16), ("numba", "fixed", 64), ("numba", "moved every block", 16),
        ("numba", "moved every block", 64), ("tf_function", "fixed", 16),
        ("tf_function", "fixed", 64)]
    s = entry["summary"]
    at = {(r["engine"], r["knobs"], r["block_size"]): r for r in rows}
    assert s["rtf"] == at["numba", "fixed", 64]["rtf"]
    assert s["rtf_moved_64"] == at["numba", "moved every block", 64]["rtf"]
    assert s["p99_ms_moved_64"] == at["numba", "moved every block", 64]["p99_ms"]
    result = {"sr": 44100, "block_sizes": [16, 64], "models": {"lstm": entry},
              "measurements": rows, "conditions": {}}
    table = latency.knobs_table_html(result)
    assert table.count("<tr>") == 3 and "extra µs per block" in table
    assert "knob moved every block" in latency.live_table_html(result)
    assert "moved every block" in latency.measurements_html(result)
    assert "with a knob moved every block" in latency.answer_markdown(result)

    # the moves are real: every knob lands somewhere new, seeded, within range
    proc = model.processor()
    latency.time_blocks(proc, block_size=64, n_blocks=10, warmup=2, move_knobs=True, seed=3)
    after = proc.knob_values["gain_db"]
    latency.time_blocks(proc, block_size=64, n_blocks=10, warmup=2, move_knobs=True, seed=3)
    assert proc.knob_values["gain_db"] == after and 0 <= after <= 40 and after != 20.0
    # an unconditioned network: no knob to move, no knob column
    from fxlab.models import build_model

    plain = runtime.make_processor(build_model("lstm", seed=0, units=4))
    with pytest.raises(ParameterError, match="move_knobs"):
        latency.time_blocks(plain, block_size=16, n_blocks=5, move_knobs=True)
    assert latency.time_blocks(plain, block_size=16, n_blocks=5)["knobs"] is None
    assert "No model of this run is conditioned" in latency.knobs_table_html(
        {"models": {"lstm": {"knobs": []}}, "measurements": []})

def test_the_graybox_emulator_is_timed_as_the_networks_are():
    from fxlab.models import build_model

    plain = build_model("graybox", seed=0, shaper=4)
    entry, rows = latency.measure_model("graybox", plain, engines="all", block_sizes=[1, 64],
                                        n_blocks=30, log=None)
    assert entry["kind"] == "graybox" and latency.KIND_ENGINES["graybox"] == ("numba",)
    assert entry["engines"] == {"numba": None} and entry["default_engine"] == "numba"
    assert entry["family"] == "sample" and entry["knobs"] == []
    s = entry["summary"]
    at64 = next(r for r in rows if r["block_size"] == 64)
    assert s["rtf"] == at64["rtf"] and s["ms_per_sample_block"] == 1
    for value in (s["rtf"], s["p99_ms_64"], s["ms_per_sample"]):
        assert math.isfinite(value) and value > 0
    assert s["smallest_live_block"] in (1, 64)  # microseconds per block: live at any size
    # a network's engine list names engines the emulator lacks: it runs on its own
    entry, _ = latency.measure_model("graybox", plain, engines="numba,xla", block_sizes=[64],
                                     n_blocks=5, log=None)
    assert entry["engines"] == {"numba": None}
    knobbed = build_model("graybox", seed=0, shaper=2, knobs=1)
    entry, rows = latency.measure_model("graybox", knobbed, block_sizes=[64], n_blocks=10, log=None)
    assert sorted(r["knobs"] for r in rows) == ["fixed", "moved every block"]
    assert math.isfinite(entry["summary"]["rtf_moved_64"])
    cnn = build_model("thesis_cnn", seed=0, window=64, filters=4, kernel=8, groups=2)
    assert latency.pick_demo_model({"thesis_cnn": cnn, "graybox": plain}) == "graybox"



@pytest.mark.slow
def test_tiny_run_latency_json(tiny_run):
    import json

    result = json.loads((tiny_run / "latency.json").read_text())
    assert result["schema"] == 1 and result["sr"] == 44100
    assert result["conditions"]["cpu_affinity"] and len(result["conditions"]["cpu_affinity"]) == 1
    assert result["models"]
    for name, e in result["models"].items():
        s = e["summary"]
        rows = [r for r in result["measurements"] if r["model"] == name and not r.get("skipped")]
        assert rows, name
        for r in rows:
            assert r["p99_ms"] >= r["median_ms"] > 0
            assert r["rtf"] == pytest.approx(r["median_ms"] / r["latency_ms"])
        at_64 = [r for r in rows if r["block_size"] == 64 and r["engine"] == s["engine"]]
        if at_64:  # measured at 64 samples: the summary carries its RTF
            assert s["rtf"] == pytest.approx(at_64[0]["rtf"])
        else:  # a slow model skipped at 64 (timing-dependent): the summary says so, no number
            assert s["rtf"] is None
    assert (tiny_run / "figures" / "latency_rtf.png").stat().st_size > 1000


def test_latency_config_fields_are_the_notebook_parameters():
    import dataclasses

    from fxlab.pipeline import notebook_parameters

    fields = [f.name for f in dataclasses.fields(latency.LatencyConfig)]
    assert fields == list(notebook_parameters("05_latency"))
    config = latency.LatencyConfig.from_parameters(notebook_parameters("05_latency"))
    assert config.block_sizes == (1, 16, 64, 256, 1024, 4096)
    with pytest.raises(ParameterError, match="demo_block_size"):
        latency.LatencyConfig(demo_block_size=0)


@pytest.mark.slow
def test_notebook_05_times_a_conditioned_model_and_moves_its_knob(tmp_path):
    """Notebook 05 under papermill on a run whose lstm is conditioned on the drive's gain."""
    import json
    from pathlib import Path

    import papermill
    from browser_support import make_run_dir
    from knob_support import add_conditioned_run

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "05_latency.ipynb"
    run = add_conditioned_run(make_run_dir(tmp_path / "reports" / "r1", seconds=0.5, models=()))
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(
        str(notebook), str(out), cwd=str(notebook.parent), progress_bar=False,
        parameters={"run_dir": str(run), "engines": "numba", "block_sizes": "16,64",
                    "n_blocks": 20, "seconds_per_config": 0.1})
    result = json.loads((run / "latency.json").read_text())
    assert result["models"]["lstm"]["knobs"] == ["gain_db"]
    assert {r["knobs"] for r in result["measurements"]} == {"fixed", "moved every block"}
    assert result["models"]["lstm"]["summary"]["rtf_moved_64"] > 0
    text = out.read_text()
    assert "extra µs per block" in text or "extra \\u00b5s per block" in text
    assert "The knob moved while it played: `gain_db` from 0 to 40" in text
    assert (run / "latency" / "stream_lstm_val2.wav").is_file()
    assert "Traceback" not in text
