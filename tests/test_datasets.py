"""Data sets on disk: recipes, manifest, cache by recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from fxlab import datasets
from fxlab.errors import AudioFileError, ParameterError, UnknownNameError


def test_miniaudio_recipe_is_twenty_seconds_of_24_chunks():
    plan = datasets._plan(20.0, None, 44_100, 0, "train")
    assert sum(c["n"] for c in plan) == 882_000  # the thesis's small set
    assert len(plan) == 24
    assert {(c["kind"], c["envelope"]) for c in plan} == {
        (k, e) for k in ("white", "pink", "gaussian", "brown", "sweep_up", "sweep_down")
        for e in ("flat", "rise", "fall", "rise_fall")}
    starts = [c["start"] for c in plan]
    assert starts == sorted(starts) and starts[0] == 0


def test_big_recipe_has_the_thesis_sample_count_in_one_second_chunks():
    spec = datasets.TRAIN_SETS["big"]
    plan = datasets._plan(spec["seconds"], spec["chunk_seconds"], 44_100, 0, "train")
    assert sum(c["n"] for c in plan) == 7_813_000
    assert all(c["n"] == 44_100 for c in plan[:-1])


def test_validation_seeds_never_reuse_training_seeds():
    train = {c["seed"] for c in datasets._plan(20.0, None, 44_100, 0, "train")}
    val1 = {c["seed"] for c in datasets._plan(6.0, None, 44_100, 0, "val1")}
    assert train.isdisjoint(val1)


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    logs = []
    ds = datasets.build_dataset(root / "run" / "data", train_set="tiny", val1_seconds=0.5,
                                val2_seconds=0.5, cache_dir=root / "cache", log=logs.append)
    return root, ds, logs


def test_manifest_records_recipe_effect_rate_and_hashes(tiny_set):
    root, ds, _ = tiny_set
    m = json.loads((ds.path / "manifest.json").read_text())
    assert m["sr"] == 44_100
    assert m["effect"] == {"name": "highpass", "params": {"cutoff_hz": 440.0, "order": 1}}
    assert m["recipe"]["train"]["set"] == "tiny"
    assert [c["seed"] for c in m["splits"]["train"]["chunks"]][:2] == [1000, 1001]
    for split in ("train", "val1", "val2"):
        for role in ("dry", "wet"):
            f = m["splits"][split]["files"][role]
            assert datasets._sha256(ds.path / f["path"]) == f["sha256"]
    ds.verify()


def test_splits_have_the_recipe_lengths_and_wet_is_the_effect_of_dry(tiny_set):
    _, ds, _ = tiny_set
    train = ds.split("train")
    assert train.dry.size == 2 * 44_100 and train.dry.dtype == np.float32
    assert ds.split("val1").dry.size == 22_050
    assert ds.split("val2").dry.size == 22_050
    np.testing.assert_allclose(train.wet, ds.effect(train.dry, 44_100), atol=1e-6)
    data, sr = sf.read(ds.path / "val2" / "dry.wav")
    assert sr == 44_100 and data.ndim == 1


def test_speech_split_is_the_shipped_recording_resampled():
    x, sr = sf.read(datasets.speech_path())
    assert sr == 16_000 and x.size == 64_000  # 4.0 s of CMU ARCTIC a0007
    assert (datasets.speech_path().parent / "COPYING").exists()


def test_rebuild_with_same_recipe_reuses_and_changed_recipe_rebuilds(tiny_set):
    root, ds, _ = tiny_set
    logs = []
    again = datasets.build_dataset(ds.path, train_set="tiny", val1_seconds=0.5, val2_seconds=0.5,
                                   cache_dir=root / "cache", log=logs.append)
    assert "up to date" in logs[0] and again.manifest_hash == ds.manifest_hash
    logs = []
    other = datasets.build_dataset(root / "run2" / "data", train_set="tiny", val1_seconds=0.5,
                                   val2_seconds=0.5, cache_dir=root / "cache", log=logs.append)
    assert "found in the cache" in logs[0] and other.manifest_hash == ds.manifest_hash
    logs = []
    changed = datasets.build_dataset(ds.path, train_set="tiny", val1_seconds=0.5, val2_seconds=0.5,
                                     effect={"name": "highpass", "params": {"cutoff_hz": 440.0, "order": 2}},
                                     cache_dir=root / "cache", log=logs.append)
    assert "synthesising" in logs[0]
    assert changed.manifest["key"] != ds.manifest["key"]
    assert changed.manifest["effect"]["params"]["order"] == 2



def _build_in_process(root: str, run: str, barrier) -> tuple[list[str], str]:
    """One process's request for the tiny recipe (module level: a process pool pickles it)."""
    from pathlib import Path

    datasets.recipe(train_set="tiny")  # imports done before the start line
    barrier.wait(timeout=60)
    logs: list[str] = []
    ds = datasets.build_dataset(Path(root) / run / "data", train_set="tiny", seed=3, val1_seconds=0.5,
                                val2_seconds=0.5, cache_dir=Path(root) / "cache", log=logs.append)
    return logs, ds.manifest_hash


def test_processes_building_one_recipe_at_once_build_it_once(tmp_path):
    """Three processes (as a sweep's workers) ask for one uncached recipe at the same moment: one
    synthesises, the others wait and link its entry; the cache holds one complete entry and no
    half-built folders, and every run folder gets the same data."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(3, mp_context=ctx) as pool:
        barrier = manager.Barrier(3)
        results = list(pool.map(_build_in_process, [str(tmp_path)] * 3, ["a", "b", "c"], [barrier] * 3))
    built = [logs for logs, _ in results if any("synthesising" in line for line in logs)]
    assert len(built) == 1, [logs for logs, _ in results]
    assert len({h for _, h in results}) == 1
    entries = sorted(p.name for p in (tmp_path / "cache" / "datasets").iterdir() if p.is_dir())
    assert len(entries) == 1 and not entries[0].startswith("."), entries
    for run in "abc":
        assert datasets.load_dataset(tmp_path / run / "data", verify=True).manifest_hash == results[0][1]


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    a = datasets.build_dataset(tmp_path / "a", train_set="tiny", val1_seconds=0.2, val2_seconds=0.2,
                               cache_dir=tmp_path / "c1", log=lambda m: None)
    b = datasets.build_dataset(tmp_path / "b", train_set="tiny", val1_seconds=0.2, val2_seconds=0.2,
                               cache_dir=tmp_path / "c2", log=lambda m: None)
    c = datasets.build_dataset(tmp_path / "c", train_set="tiny", val1_seconds=0.2, val2_seconds=0.2,
                               seed=1, cache_dir=tmp_path / "c3", log=lambda m: None)
    assert a.manifest == b.manifest
    assert a.manifest_hash == b.manifest_hash
    np.testing.assert_array_equal(a.split("train").dry, b.split("train").dry)
    assert not np.array_equal(a.split("train").dry, c.split("train").dry)


def test_chunk_lookup_and_unknown_chunk(tiny_set):
    _, ds, _ = tiny_set
    dry, wet = ds.split("train").chunk("pink", "rise")
    assert dry.size > 0 and dry.size == wet.size
    with pytest.raises(UnknownNameError, match="known chunk"):
        ds.split("train").chunk("purple", "flat")


@pytest.mark.parametrize("kwargs, error, text", [
    ({"train_set": "huge"}, UnknownNameError, "miniaudio"),
    ({"sr": 100}, ParameterError, "sample rate"),
    ({"seed": -1}, ParameterError, "seed"),
    ({"val1_seconds": 0}, ParameterError, "val1_seconds"),
    ({"effect": {"name": "flanger9000", "params": {}}}, UnknownNameError, "highpass"),
])
def test_bad_recipe_is_a_clear_error(kwargs, error, text):
    with pytest.raises(error, match=text):
        datasets.recipe(**kwargs)


def test_missing_or_damaged_data_set_names_the_folder_and_fix(tmp_path, tiny_set):
    with pytest.raises(AudioFileError, match="no manifest.json.*Fix: build it first"):
        datasets.load_dataset(tmp_path / "nothing")
    _, ds, _ = tiny_set
    copy = tmp_path / "copy"
    import shutil
    shutil.copytree(ds.path, copy)
    (copy / "val1" / "wet.wav").unlink()
    with pytest.raises(AudioFileError, match="val1/wet.wav: found a missing file"):
        datasets.load_dataset(copy)
    shutil.copytree(ds.path, tmp_path / "tampered")
    target = tmp_path / "tampered" / "train" / "wet.wav"
    target.unlink()  # break the hard link, then write different audio
    sf.write(target, np.zeros(2 * 44_100, np.float32), 44_100, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="differ from the manifest"):
        datasets.load_dataset(tmp_path / "tampered", verify=True)


def test_data_config_fields_are_the_notebook_parameters():
    import dataclasses

    from fxlab.pipeline import notebook_parameters

    fields = [f.name for f in dataclasses.fields(datasets.DataConfig)]
    assert fields == list(notebook_parameters("01_synthesize_data"))
    config = datasets.DataConfig.from_parameters(notebook_parameters("01_synthesize_data"))
    assert config.recipe()["sr"] == 44100 and config.data_dir.name == "data"
    with pytest.raises(UnknownNameError, match="highpass"):
        datasets.DataConfig.from_parameters(notebook_parameters("01_synthesize_data"), effect="hipass")
    with pytest.raises(UnknownNameError, match="miniaudio"):
        datasets.DataConfig.from_parameters(notebook_parameters("01_synthesize_data"), train_set="huge")
