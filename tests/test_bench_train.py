"""``python -m fxlab.bench train --compare``: fxlab's model and the published reference recipe, side by side."""

from __future__ import annotations

import math
import sys

import pytest

from fxlab.errors import ParameterError


def test_the_reference_without_pytorch_says_how_to_install_it(monkeypatch):
    from fxlab.bench.reference import train_reference

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(ParameterError, match=r"\[bench\]"):
        train_reference({"train": ([0.0], [0.0])}, 0.1)


def test_compare_without_pytorch_stops_before_training(monkeypatch, capsys):
    import keras

    from fxlab.bench.train import main

    monkeypatch.setitem(sys.modules, "torch", None)
    assert main(["--compare", "--backend", keras.backend.backend(), "--data", "/nonexistent"]) == 2
    assert "[bench]" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_trains_both_for_a_few_seconds_and_prints_both_rows(tmp_path, capsys):
    pytest.importorskip("torch")
    import keras

    from fxlab.bench.train import main
    from fxlab.datasets import build_dataset

    build_dataset(tmp_path / "data", train_set="tiny", val1_seconds=1.0, val2_seconds=1.0,
                  cache_dir=tmp_path / "cache", log=lambda *_: None)
    minutes = 0.05
    assert main(["--minutes", str(minutes), "--compare", "--thesis-minutes", "0", "--verbose", "0",
                 "--data", str(tmp_path / "data"), "--work", str(tmp_path / "work"),
                 "--backend", keras.backend.backend()]) == 0
    out = capsys.readouterr().out
    assert "fxlab lstm-32" in out and "reference lstm-32" in out
    last = dict(kv.split("=", 1) for kv in out.strip().splitlines()[-1].split())
    for key in ("esr_v1", "esr_v2", "samples_per_s", "ref_esr_v1", "ref_esr_v2", "ref_samples_per_s"):
        assert math.isfinite(float(last[key])) and float(last[key]) > 0, key
    # (each stops at its budget; how long that took is the benchmark's figure, not a test's)
    assert int(last["ref_epochs"]) >= 1 and last["backend"] == keras.backend.backend()
