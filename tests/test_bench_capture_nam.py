"""``python -m fxlab.bench capture --compare nam``: Neural Amp Modeler's own trainer beside fxlab's."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from fxlab.errors import ParameterError

SR = 44_100


def _pair(seconds: float, *, latency: int, seed: int):
    """Noise at about -10 dBFS RMS through a soft clipper, the wet ``latency`` samples late."""
    rng = np.random.default_rng(seed)
    dry = (0.3 * rng.standard_normal(int(seconds * SR))).astype(np.float32)
    wet = (0.5 * np.tanh(3.0 * dry)).astype(np.float32)
    return dry, np.concatenate([np.zeros(latency, np.float32), wet[:wet.size - latency]])


def test_compare_accepts_only_nam():
    from fxlab.bench.capture import main

    with pytest.raises(SystemExit) as e:
        main(["--compare", "lstm"])
    assert e.value.code == 2


def test_compare_without_nam_stops_before_training_and_names_the_extra(monkeypatch, capsys):
    from fxlab.bench.capture import main

    monkeypatch.setitem(sys.modules, "nam", None)  # import nam -> ImportError
    assert main(["--compare", "nam", "--only", "eq", "--minutes", "0.01"]) == 2
    err = capsys.readouterr().err
    assert "[interop]" in err and "--compare nam" in err


def test_require_without_pytorch_names_the_extra(monkeypatch):
    from fxlab.bench.nam_compare import require

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ParameterError, match=r"\[interop\]"):
        require()


@pytest.mark.interop
@pytest.mark.parametrize("kwargs,match", [({"minutes": 0.0}, "budget"),
                                          ({"minutes": 0.1, "latency": -1}, "delay"),
                                          ({"minutes": 0.1}, "batch_size")])
def test_train_nam_refuses_bad_input_before_training(tmp_path, kwargs, match):
    pytest.importorskip("nam")
    from fxlab.bench.nam_compare import train_nam

    dry, wet = _pair(0.5, latency=0, seed=0)  # 0.5 s: fewer windows than a batch
    kwargs = {"latency": 0, **kwargs}
    with pytest.raises(ParameterError, match=match):
        train_nam((dry, wet), (dry, wet), sr=SR, work=tmp_path, log=None, **kwargs)


@pytest.mark.slow
@pytest.mark.interop
def test_nam_trains_a_few_seconds_and_renders_unseen_material_in_step(tmp_path):
    pytest.importorskip("nam")
    from fxlab.bench.capture import _in_step_esr
    from fxlab.bench.nam_compare import SCORED_SUBMODEL, train_nam

    latency = 7
    dry, wet = _pair(3.0, latency=latency, seed=0)
    cut = int(0.8 * dry.size)
    run = train_nam((dry[:cut], wet[:cut]), (dry[cut:], wet[cut:]), minutes=0.1, sr=SR,
                    latency=latency, work=tmp_path, ny=2048, batch_size=4, log=None)
    assert run.summary["steps"] >= 1 and run.summary["submodel"] == SCORED_SUBMODEL
    assert 10_000 < run.summary["params"] < 15_000  # NAM's 8-channel "standard" WaveNet
    test_dry, target = _pair(1.0, latency=latency, seed=1)
    out = run.predict(test_dry)
    assert out.shape == test_dry.shape and out.dtype == np.float32
    esr = _in_step_esr(target.astype(np.float64), out, latency)
    # a few updates from NAM's near-silent start (head scale 0.01): finite, not yet good
    assert math.isfinite(esr) and 0 < esr < 2
