"""Streaming equals offline, for every model family and block size; state resets; bad sizes fail.

Block sizes 1, 7 and 64: odd sizes catch buffer bugs (a window or receptive field that is not a
multiple of the block). The models are tiny and freshly built (random weights): equality of the
streamed and offline outputs does not depend on training.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import soundfile as sf
from weights_support import perturb_weights

from fxlab import runtime
from fxlab.errors import ChannelError, ParameterError, SampleRateError
from fxlab.runtime import check_block_size, make_processor, stream_file

FAMILIES = {
    "lstm": {"units": 6, "layers": 2},
    "gru": {"units": 6},
    "tcn": {"channels": 4, "layers": 4},           # receptive field 31 samples
    "thesis_lstm_reduced": {"units": 4, "window": 24},
    "thesis_cnn": {"window": 16, "filters": 4, "kernel": 4, "groups": 2},
}




@pytest.fixture(scope="module")
def models():
    from fxlab.models import build_model

    return {name: perturb_weights(build_model(name, seed=0, **kw), seed=1, scale=0.2) for name, kw in FAMILIES.items()}


@pytest.fixture(scope="module")
def signal():
    rng = np.random.default_rng(5)
    return (0.4 * rng.standard_normal(150)).astype(np.float32)


def _offline(model, x):
    """The whole signal in one Keras call (sample-level) or every zero-padded window (windowed)."""
    if len(model.inputs[0].shape) == 3 and model.inputs[0].shape[1] is not None:
        w = int(model.inputs[0].shape[1])
        padded = np.concatenate([np.zeros(w - 1, np.float32), x])
        frames = np.lib.stride_tricks.sliding_window_view(padded, w)[..., None]
        return np.asarray(model.predict_on_batch(frames)).reshape(-1)
    return np.asarray(model(x[None, :, None], training=False)).reshape(-1)


@pytest.fixture(scope="module")
def offline(models, signal):
    return {name: _offline(m, signal) for name, m in models.items()}


@pytest.mark.parametrize("block_size", [1, 7, 64])
@pytest.mark.parametrize("name", list(FAMILIES))
def test_streamed_equals_offline(models, offline, signal, name, block_size):
    proc = make_processor(models[name])
    y = proc.process_signal(signal, block_size=block_size)
    assert y.shape == signal.shape and y.dtype == np.float32
    assert np.max(np.abs(y - offline[name])) < 1e-5
    assert np.max(np.abs(offline[name] - signal)) > 1e-3  # not a wire


@pytest.mark.parametrize("block_size", [1, 7, 64])
def test_the_tcn_through_keras_streams_exactly_too(models, offline, signal, block_size):
    y = make_processor(models["tcn"], engine="keras").process_signal(signal, block_size=block_size)
    assert np.max(np.abs(y - offline["tcn"])) < 1e-6


def test_kinds_and_buffers(models):
    kinds = {n: make_processor(m).kind for n, m in models.items()}
    assert kinds == {"lstm": "rnn", "gru": "rnn", "tcn": "tcn", "thesis_lstm_reduced": "windowed",
                     "thesis_cnn": "windowed"}
    assert make_processor(models["tcn"], engine="keras").buffer_samples == 30
    assert make_processor(models["tcn"]).receptive_field == 31
    assert make_processor(models["tcn"]).engine_name == "numba"
    assert make_processor(models["thesis_cnn"]).buffer_samples == 15
    assert make_processor(models["lstm"]).engine_name == "numba"


@pytest.mark.parametrize("name", ["lstm", "tcn", "thesis_lstm_reduced"])
def test_state_resets_between_files(models, offline, signal, name):
    proc = make_processor(models[name])
    other = np.flip(signal).copy() * 0.5
    proc.process_signal(other, block_size=7)           # file 1 leaves a state behind
    y = proc.process_signal(signal, block_size=7)      # file 2 starts from scratch
    assert np.max(np.abs(y - offline[name])) < 1e-5
    # without reset the first outputs would differ: the state is really carried
    proc.reset()
    proc.process(other)
    carried = proc.process(signal[:40])
    assert np.max(np.abs(carried - offline[name][:40])) > 1e-4


def test_block_sizes_may_change_between_calls(models, offline, signal):
    proc = make_processor(models["tcn"])
    cuts = [0, 1, 3, 40, 41, 100, 150]
    y = np.concatenate([proc.process(signal[a:b]) for a, b in itertools.pairwise(cuts)])
    assert np.max(np.abs(y - offline["tcn"])) < 1e-5
    assert proc.process(np.zeros(0, np.float32)).shape == (0,)


@pytest.mark.parametrize("bad", [0, -1, -64, 64.0, 1.5, "64", True, None])
def test_bad_block_sizes_are_clear_errors(models, signal, bad):
    with pytest.raises(ParameterError, match="block_size") as info:
        check_block_size(bad)
    assert "Fix:" in str(info.value)
    with pytest.raises(ParameterError):
        make_processor(models["lstm"]).process_signal(signal, block_size=bad)


def test_good_block_sizes_pass():
    assert check_block_size(np.int64(64)) == 64 and check_block_size(1) == 1


def test_stream_file_equals_offline(models, offline, signal, tmp_path):
    src = tmp_path / "dry.wav"
    sf.write(src, signal, 44100, subtype="FLOAT")
    proc = make_processor(models["gru"])
    info = stream_file(src, tmp_path / "out" / "wet.wav", proc, 7, progress=False)
    y, sr = sf.read(tmp_path / "out" / "wet.wav", dtype="float32")
    assert sr == 44100 and info["n_samples"] == 150 and info["n_blocks"] == 22
    assert np.max(np.abs(y - offline["gru"])) < 1e-6
    # a second file through the same processor starts from a zero state
    stream_file(src, tmp_path / "again.wav", proc, 64, progress=False)
    np.testing.assert_allclose(sf.read(tmp_path / "again.wav", dtype="float32")[0], y, atol=1e-6)


def test_stream_file_rejects_bad_files(models, tmp_path):
    proc = make_processor(models["lstm"])
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.zeros((100, 2), np.float32), 44100)
    with pytest.raises(ChannelError, match="stereo.wav"):
        stream_file(stereo, tmp_path / "o.wav", proc, 64, progress=False)
    slow = tmp_path / "sr.wav"
    sf.write(slow, np.zeros(100, np.float32), 48000)
    with pytest.raises(SampleRateError, match="48000"):
        stream_file(slow, tmp_path / "o.wav", proc, 64, progress=False)
    with pytest.raises(ParameterError, match="block_size"):
        stream_file(slow, tmp_path / "o.wav", proc, 0, progress=False)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_render_equals_offline_for_every_family(models, offline, signal, name):
    y = runtime.render(models[name], signal)
    assert y.shape == signal.shape
    assert np.max(np.abs(y - offline[name])) < 1e-5
