"""Data sets on disk: dry/wet WAV pairs per split, a manifest, cached by recipe.

A data set is a folder::

    manifest.json          recipe, seeds, effect spec, sample rate, sha256 of every file's samples
    train/dry.wav          the training material (thesis section 3.3)
    train/wet.wav          ... through the target effect
    val1/dry.wav, wet.wav  Validation 1: new chunks of the same kinds, other seeds
    val2/dry.wav, wet.wav  Validation 2: recorded speech (CMU ARCTIC a0007, resampled to the study rate)

WAVs are 32-bit float, mono, so targets are stored exactly as the effect computed them.

Functions
---------
- :func:`recipe`         the full, JSON-able description of a data set (what the cache key hashes)
- :func:`build_dataset`  build (or reuse from the cache) a data set into a folder
- :func:`load_dataset`   open a data set folder, check it, read its splits
- :class:`DataConfig`     notebook 01's parameters, frozen (``DataConfig.from_parameters(globals())``)
- :func:`build_study_data`  build the data set a :class:`DataConfig` describes into its run folder
- :data:`TRAIN_SETS`     the training recipes by name: ``miniaudio``, ``big``, ``tiny``
- :func:`parse_train_levels`  the training input's peak levels (``train_levels``), checked

Training recipes (the thesis's, section 3.3)
-------------------------------------------
The thesis combined six signal kinds -- white, pink, Gaussian and brown noise, rising and falling
sine sweeps -- with copies whose amplitude rises, falls, or both. fxlab crosses the six kinds with
four envelopes (``flat``, ``rise``, ``fall``, ``rise_fall``): 24 chunks, concatenated.

- ``miniaudio``: 20 s in all (882,000 samples at 44.1 kHz), 24 chunks of 0.8333 s.
- ``big``: the thesis's 7,813,000 samples, as chunks of one second ("we are using one second per
  audio") cycling through the 24 combinations with a new seed each, the last chunk cut to length.
- ``tiny``: 2 s, for tests only.

Each chunk's seed is ``seed * 100_000 + base + index`` with a base per split (train 1,000, val1
50,000), so Validation 1 never reuses a training seed. Validation 1 is 24 new chunks of
``val1_seconds / 24`` each.

Input levels (``train_levels``)
-------------------------------
Every chunk peaks at -6.02 dBFS (amplitude 0.5), and a network only knows the levels it was shown.
With ``train_levels`` (peak levels in dBFS, e.g. ``(0, -12, -24)``; notebook 01's
``train_levels = "0,-12,-24"``) the training split's chunks take those peaks in turn (chunk ``i``
at level ``(i + i // 24) % L`` of the ``L`` levels, loudest first, so each pass of the 24 kinds
and envelopes shifts by one level): the split keeps its length (and training its time), and the
effect is rendered on that scaled input, so the target is the effect's true output at every level,
for a nonlinear effect too. Validation 1 and 2 are unchanged. See ``docs/LEVELS.md``.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from fxlab import __version__
from fxlab.datacache import cache_lock, default_cache_dir, link_or_copy, publish
from fxlab.errors import AudioFileError, ParameterError, problem, unknown_name
from fxlab.util import Html, NotebookConfig, check_sr, html_table

__all__ = [
    "DATA_FORMAT",
    "DataConfig",
    "build_study_data",
    "SPLITS",
    "TRAIN_SETS",
    "Dataset",
    "Split",
    "build_dataset",
    "load_dataset",
    "parse_train_levels",
    "recipe",
    "speech_path",
]

#: Bump when the way data sets are synthesised changes, so cached sets are rebuilt.
DATA_FORMAT = 2

SPLITS = ("train", "val1", "val2")

#: Training recipes: total length in samples at 44.1 kHz (scaled to other rates) and chunk length.
TRAIN_SETS: dict[str, dict[str, Any]] = {
    "miniaudio": {"seconds": 20.0, "chunk_seconds": None, "summary": "20 s, 24 chunks (the thesis's small set)"},
    "big": {"seconds": 7_813_000 / 44_100, "chunk_seconds": 1.0, "summary": "7,813,000 samples at 44.1 kHz, 1 s chunks (the thesis's big set)"},
    "tiny": {"seconds": 2.0, "chunk_seconds": None, "summary": "2 s, for tests only"},
}

SPEECH_FILE = "arctic_a0007.wav"
_SEED_BASE = {"train": 1_000, "val1": 50_000}


def speech_path() -> Path:
    """Path of the shipped Validation 2 speech recording (16 kHz, 4 s; licence in COPYING beside it)."""
    return Path(str(resources.files("fxlab") / "data" / "speech" / SPEECH_FILE))


def _n_samples(seconds: float, sr: int) -> int:
    return int(round(seconds * sr))


def _plan(seconds: float, chunk_seconds: float | None, sr: int, seed: int, split: str,
          levels: list[float] | None = None) -> list[dict]:
    """The chunks of a synthetic split: kind, envelope, seed, start and length in samples; with
    ``levels`` (peak dBFS), each chunk's ``peak_dbfs`` too (the module text: input levels)."""
    from fxlab.signals import ENVELOPES, SIGNAL_KINDS

    combos = [(k, e) for k in SIGNAL_KINDS for e in ENVELOPES]
    total = _n_samples(seconds, sr)
    if chunk_seconds is None:
        # len(combos) chunks of (nearly) equal length that add up to exactly `total`.
        edges = np.linspace(0, total, len(combos) + 1).round().astype(int)
        lengths = np.diff(edges).tolist()
    else:
        step = _n_samples(chunk_seconds, sr)
        lengths = [step] * (total // step) + ([total % step] if total % step else [])
    plan, start = [], 0
    for i, n in enumerate(lengths):
        kind, env = combos[i % len(combos)]
        plan.append({"kind": kind, "envelope": env, "seed": seed * 100_000 + _SEED_BASE[split] + i,
                     "start": start, "n": int(n)})
        if levels:
            plan[-1]["peak_dbfs"] = float(levels[(i + i // len(combos)) % len(levels)])
        start += n
    return plan


def recipe(*, train_set: str = "miniaudio", effect: dict | None = None, sr: int = 44_100,
           seed: int = 0, val1_seconds: float = 6.0, val2_seconds: float | None = None,
           conditioning: dict | None = None, train_levels=None) -> dict:
    """The complete description of a data set; its hash is the cache key.

    Parameters
    ----------
    train_set : {"miniaudio", "big", "tiny"}
        Training recipe (see module docstring).
    effect : dict, optional
        Effect spec ``{"name": ..., "params": {...}}``; default :data:`fxlab.effects.STUDY_EFFECT`.
    sr : int > 0
        Sample rate in Hz of every split (the study's: 44100).
    seed : int >= 0
        Seed of the synthetic splits.
    val1_seconds : float > 0
        Length of Validation 1 in seconds.
    val2_seconds : float > 0 or None
        Validation 2 is cut to this many seconds; None keeps the whole recording (4.0 s).
    conditioning : dict, optional
        A data set for a knob-conditioned network: ``{"knobs": [name, ...], "n": 5, "values":
        {knob: [value, ...]}, "holdout": [{knob: value}, ...]}`` (the grid and held-out settings of
        :func:`fxlab.conditioning.plan_settings`; ``n``, ``values`` and ``holdout`` optional). The
        recipe records the knobs and the settings resolved: the training split is the training
        signal at every training setting in turn, Validation 1 and 2 their signals at every
        held-out setting (settings the network never sees).
    train_levels : str or sequence of float, optional
        Peak levels of the training split's chunks in turn, dBFS (:func:`parse_train_levels`:
        ``"0,-12,-24"`` or ``(0, -12, -24)``, each from -60 to 0); ``None`` or ``""``: every chunk
        at -6.02 dBFS, the thesis's recipe (and the recipe, so the cache key, unchanged).
        Validation 1 and 2 are not affected.
    """
    from fxlab.effects import STUDY_EFFECT, effect_from_spec

    if train_set not in TRAIN_SETS:
        raise unknown_name("training set", train_set, list(TRAIN_SETS))
    if check_sr(sr) < 8000:
        raise ParameterError(problem("sr", found=repr(sr), expected="an integer sample rate >= 8000 Hz",
                                     fix="use the study's 44100"))
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(problem("seed", found=repr(seed), expected="an integer >= 0", fix="e.g. seed=0"))
    for name, value in (("val1_seconds", val1_seconds), ("val2_seconds", val2_seconds)):
        if value is not None and (not isinstance(value, int | float) or value <= 0):
            raise ParameterError(problem(name, found=repr(value), expected="a positive number of seconds",
                                         fix=f"e.g. {name}=2.0"))
    fx = effect_from_spec(effect if effect is not None else STUDY_EFFECT)
    spec = fx.spec
    ts = TRAIN_SETS[train_set]
    levels = parse_train_levels(train_levels)
    from fxlab.conditioning import resolve_conditioning

    extra = {"conditioning": resolve_conditioning(fx, conditioning)} if conditioning else {}
    return extra | {
        "format": DATA_FORMAT,
        "sr": int(sr),
        "seed": int(seed),
        "effect": spec,
        "train": {"set": train_set, "seconds": ts["seconds"], "chunk_seconds": ts["chunk_seconds"]}
        | ({"levels_dbfs": list(levels)} if levels else {}),
        "val1": {"seconds": float(val1_seconds)},
        "val2": {"source": SPEECH_FILE, "seconds": None if val2_seconds is None else float(val2_seconds)},
    }


#: The quietest training level :func:`parse_train_levels` takes, dBFS (quieter is silence to
#: :func:`fxlab.audio.check_signal`).
MIN_TRAIN_LEVEL_DBFS = -60.0


def parse_train_levels(value) -> tuple[float, ...]:
    """The training split's peak levels from ``train_levels``, loudest first, each once.

    Parameters
    ----------
    value : str, number, sequence of numbers or None
        ``"0,-12,-24"`` (notebook 01's parameter), ``-12``, ``(0, -12)``; ``None`` or ``""``:
        none (the thesis's recipe, every chunk at -6.02 dBFS).

    Returns
    -------
    tuple of float
        Peak levels in dBFS, each in [-60, 0], sorted loudest first without repeats; ``()`` for none.

    Raises
    ------
    ParameterError
        A value that is not a number, above 0 dBFS (clipping) or below -60 dBFS (silence).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return ()
    if isinstance(value, str):
        parts: list = [p.strip() for p in value.split(",")]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parts = [value]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        parts = [value]
    levels = []
    for part in parts:
        try:
            level = float(part) if not isinstance(part, bool) else float("nan")
        except (TypeError, ValueError):
            level = float("nan")
        if not (MIN_TRAIN_LEVEL_DBFS <= level <= 0.0):  # NaN fails too
            raise ParameterError(problem(
                f"train_levels={value!r}", found=f"{part!r}",
                expected=(f"peak levels in dBFS from {MIN_TRAIN_LEVEL_DBFS:g} to 0, comma-separated "
                          "(above 0 dBFS clips)"),
                fix='set train_levels = "0,-12,-24" (or "" for the thesis\'s single level, -6 dBFS)'))
        levels.append(level + 0.0)  # -0.0 -> 0.0
    return tuple(sorted(set(levels), reverse=True))


def _recipe_key(rec: dict) -> str:
    return hashlib.sha256(json.dumps(rec, sort_keys=True).encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    """sha256 of a WAV file's *samples* (float32, little-endian) and sample rate.

    Not of the file's bytes: libsndfile stamps float WAVs with the time of writing (PEAK chunk), so
    the same samples written a second later would hash differently.
    """
    import soundfile as sf

    x, sr = sf.read(path, dtype="float32", always_2d=True)
    h = hashlib.sha256(f"{sr}:{x.shape[1]}:".encode())
    h.update(np.ascontiguousarray(x, dtype="<f4").tobytes())
    return h.hexdigest()


def _synthesize(rec: dict, split: str) -> tuple[np.ndarray, list[dict]]:
    from fxlab.signals import make_chunk

    part = rec[split]
    chunk = part.get("chunk_seconds")
    plan = _plan(part["seconds"], chunk, rec["sr"], rec["seed"], split, part.get("levels_dbfs"))
    x = np.concatenate([
        make_chunk(p["kind"], n=p["n"], sr=rec["sr"], seed=p["seed"], envelope=p["envelope"],
                   **({"amplitude": 10.0 ** (p["peak_dbfs"] / 20.0)} if "peak_dbfs" in p else {}))
        for p in plan
    ]).astype(np.float32)
    return x, plan


def _speech(rec: dict) -> np.ndarray:
    from fxlab.audio import read_wav, resample

    x, sr0 = read_wav(speech_path())
    if sr0 != rec["sr"]:
        x = resample(x, sr0, rec["sr"])
    seconds = rec["val2"]["seconds"]
    if seconds is not None:
        x = x[: _n_samples(seconds, rec["sr"])]
    return np.asarray(x, dtype=np.float32)


def _write_set(folder: Path, rec: dict) -> dict:
    """Synthesise every split of ``rec`` into ``folder``; returns the manifest."""
    from fxlab.audio import write_wav
    from fxlab.effects import effect_from_spec

    effect = effect_from_spec(rec["effect"])
    sr = rec["sr"]
    cond = rec.get("conditioning")
    splits: dict[str, Any] = {}
    for split in SPLITS:
        if split == "val2":
            dry, plan = _speech(rec), None
        else:
            dry, plan = _synthesize(rec, split)
        settings = None
        if cond is None:
            wet = np.asarray(effect(dry, sr), dtype=np.float32)
        else:  # the signal at each setting in turn, each rendered from silence
            chosen = cond["train_settings"] if split == "train" else cond["val_settings"]
            wet = np.concatenate([np.asarray(effect.with_knobs(**c)(dry, sr), dtype=np.float32)
                                  for c in chosen])
            settings = [{"setting": c, "start": i * dry.size, "n": int(dry.size)}
                        for i, c in enumerate(chosen)]
            dry = np.tile(dry, len(chosen))
        files = {}
        for role, sig in (("dry", dry), ("wet", wet)):
            rel = f"{split}/{role}.wav"
            write_wav(folder / rel, sig, sr)
            files[role] = {"path": rel, "sha256": _sha256(folder / rel)}
        splits[split] = {"n_samples": int(dry.size), "seconds": dry.size / sr, "files": files,
                         "peak_dry": float(np.abs(dry).max()), "peak_wet": float(np.abs(wet).max())}
        if settings is not None:
            splits[split]["settings"] = settings
        if plan is not None:
            splits[split]["chunks"] = plan
        else:
            splits[split]["source"] = {
                "file": SPEECH_FILE, "corpus": "CMU ARCTIC (bdl a0007), licence: fxlab/data/speech/COPYING",
                "original_sr": 16_000, "resampled_to": sr,
            }
    return {
        "fxlab_version": __version__,
        "key": _recipe_key(rec),
        "recipe": rec,
        "sr": sr,
        "effect": rec["effect"],
        "effect_description": effect.describe(),
        "splits": splits,
    } | ({"conditioning": cond} if cond is not None else {})


def build_dataset(out_dir: str | os.PathLike, *, train_set: str = "miniaudio", effect: dict | None = None,
                  sr: int = 44_100, seed: int = 0, val1_seconds: float = 6.0,
                  val2_seconds: float | None = None, cache_dir: str | os.PathLike | None = None,
                  conditioning: dict | None = None, train_levels=None, log=print) -> Dataset:
    """Build the data set described by the arguments into ``out_dir``, reusing the cache.

    The data set is synthesised once per recipe into ``cache_dir/<train_set>-<key>/`` (default:
    ``$FXLAB_CACHE/datasets`` or ``<out_dir>/../../_cache/datasets``, i.e. ``reports/_cache`` for a
    run folder) and hard-linked (or copied) into ``out_dir``. A rerun with the same recipe does not
    rebuild; a changed recipe (any argument, or :data:`DATA_FORMAT`) builds anew. Several processes
    may ask for the same recipe at once (a sweep's workers): one builds, into a temporary folder
    renamed into place when complete, while the others wait on a lock file beside the entry and then
    link it. See :func:`recipe` for the arguments (``train_levels``: the training split's peak
    levels). Returns the opened :class:`Dataset`.
    """
    out = Path(out_dir)
    rec = recipe(train_set=train_set, effect=effect, sr=sr, seed=seed,
                 val1_seconds=val1_seconds, val2_seconds=val2_seconds, conditioning=conditioning,
                 train_levels=train_levels)
    key = _recipe_key(rec)
    if (out / "manifest.json").exists():
        try:
            ds = load_dataset(out)
            if ds.manifest.get("key") == key:
                log(f"data set {out} is up to date (recipe {key}); not rebuilt")
                return ds
        except AudioFileError:
            pass  # damaged: rebuild below
    cache = Path(cache_dir) / "datasets" if cache_dir else default_cache_dir(out)
    entry = cache / f"{train_set}-{key}"
    with cache_lock(entry):  # several processes asking for one recipe: one builds, the rest wait
        if (entry / "manifest.json").exists():
            log(f"data set recipe {key} found in the cache {entry}; linking it")
        else:
            log(f"synthesising data set {train_set!r} (recipe {key}) into the cache {entry} ...")
            tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
            try:
                manifest = _write_set(tmp, rec)
                (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
                tmp.chmod(0o755)
                publish(tmp, entry)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp)
    if out.resolve() != entry.resolve():
        if out.exists():
            for stale in [out / "manifest.json", *(out / s for s in SPLITS)]:
                if stale.is_dir():
                    shutil.rmtree(stale)
                elif stale.exists():
                    stale.unlink()
        for split in SPLITS:
            for role in ("dry", "wet"):
                link_or_copy(entry / split / f"{role}.wav", out / split / f"{role}.wav")
        link_or_copy(entry / "manifest.json", out / "manifest.json")
    return load_dataset(out)


@dataclass(frozen=True)
class Split:
    """One split of a data set: ``dry`` (input) and ``wet`` (target), float32 arrays of shape (n,).

    In a conditioned data set, ``settings`` lists the knob setting of each stretch
    (``{"setting": {knob: value}, "start": sample, "n": samples}``, in order, covering the split),
    ``knobs`` the varied knobs, and :attr:`inputs` is what a conditioned network reads. ``chunks``
    locate the signal kinds in the first stretch.
    """

    name: str
    dry: np.ndarray
    wet: np.ndarray
    sr: int
    chunks: list[dict] = field(default_factory=list)
    settings: list[dict] = field(default_factory=list)
    knobs: tuple = ()

    @cached_property
    def inputs(self) -> np.ndarray:
        """``dry`` (unconditioned), or ``[n, 1 + K]``: the audio and each stretch's normalised knob
        values (:func:`fxlab.conditioning.knob_inputs`); built once per opened split."""
        if not self.knobs:
            return self.dry
        from fxlab.conditioning import knob_inputs

        return np.concatenate([knob_inputs(self.dry[s["start"]:s["start"] + s["n"]], self.knobs, s["setting"])
                               for s in self.settings])

    def at(self, setting: dict) -> tuple[np.ndarray, np.ndarray]:
        """The (dry, wet) stretch of one setting of a conditioned split."""
        from fxlab.conditioning import same_setting

        for s in self.settings:
            if same_setting(s["setting"], setting):
                sl = slice(s["start"], s["start"] + s["n"])
                return self.dry[sl], self.wet[sl]
        raise unknown_name(f"setting of split {self.name!r}", repr(setting),
                           [repr(s["setting"]) for s in self.settings])

    @property
    def seconds(self) -> float:
        return self.dry.size / self.sr

    def chunk(self, kind: str, envelope: str = "flat") -> tuple[np.ndarray, np.ndarray]:
        """The (dry, wet) excerpt of one signal kind and envelope in a synthetic split."""
        for c in self.chunks:
            if c["kind"] == kind and c["envelope"] == envelope:
                sl = slice(c["start"], c["start"] + c["n"])
                return self.dry[sl], self.wet[sl]
        known = sorted({f"{c['kind']}/{c['envelope']}" for c in self.chunks})
        raise unknown_name(f"chunk of split {self.name!r}", f"{kind}/{envelope}", known)


class Dataset:
    """An opened data set folder (see the module docstring for its layout).

    Splits are read lazily with :meth:`split`. ``manifest_hash`` identifies the data exactly
    (sha256 of the manifest, which holds the sha256 of every file); models record it.
    """

    def __init__(self, path: Path, manifest: dict):
        self.path = path
        self.manifest = manifest
        self._splits: dict[str, Split] = {}

    def __repr__(self) -> str:
        return f"Dataset({str(self.path)!r}, train_set={self.train_set!r}, sr={self.sr})"

    @property
    def sr(self) -> int:
        return int(self.manifest["sr"])

    @property
    def train_set(self) -> str:
        return self.manifest["recipe"]["train"]["set"]

    @property
    def split_names(self) -> tuple[str, ...]:
        return tuple(self.manifest["splits"])

    @cached_property
    def manifest_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.manifest, sort_keys=True).encode()).hexdigest()

    @cached_property
    def effect(self):
        """The target effect, rebuilt from the manifest's spec."""
        from fxlab.effects import effect_from_spec

        return effect_from_spec(self.manifest["effect"])

    @property
    def conditioning(self) -> dict | None:
        """``None``, or for a knob-conditioned data set ``{"knobs": [Knob dicts], "train_settings":
        [{knob: value}], "val_settings": [...]}`` (see :func:`recipe`)."""
        return self.manifest.get("conditioning")

    @cached_property
    def knobs(self) -> tuple:
        """The varied knobs (:class:`fxlab.effects.Knob`, input order); ``()`` when not conditioned."""
        from fxlab.effects import Knob

        return tuple(Knob.from_dict(k) for k in (self.conditioning or {}).get("knobs", ()))

    def split(self, name: str) -> Split:
        """Read split ``name`` ("train", "val1" or "val2")."""
        from fxlab.audio import read_wav

        if name not in self.manifest["splits"]:
            raise unknown_name("split", name, list(self.manifest["splits"]))
        if name not in self._splits:
            info = self.manifest["splits"][name]
            sigs = {}
            for role in ("dry", "wet"):
                sigs[role], _ = read_wav(self.path / info["files"][role]["path"], sr=self.sr)
            self._splits[name] = Split(name, sigs["dry"], sigs["wet"], self.sr, info.get("chunks", []),
                                       info.get("settings", []), self.knobs)
        return self._splits[name]

    def summary_html(self) -> str:
        """An HTML table of the splits: length, peaks, what they hold, and short content hashes."""
        rows = []
        for name, info in self.manifest["splits"].items():
            what = (f"{len(info['chunks'])} chunks of {len({c['kind'] for c in info['chunks']})} signal kinds"
                    if "chunks" in info else f"speech: {info['source']['corpus']}")
            levels = sorted({c["peak_dbfs"] for c in info.get("chunks", ()) if "peak_dbfs" in c})
            if levels:
                what += ", chunk peaks " + ", ".join(f"{v:g}" for v in levels) + " dBFS in turn"
            if info.get("settings"):
                what += (f", at {len(info['settings'])} setting(s) in turn: "
                         + "; ".join(", ".join(f"{k}={v:g}" for k, v in st["setting"].items())
                                     for st in info["settings"]))
            peaks = (f"{20 * np.log10(max(info['peak_dry'], 1e-9)):.1f} / "
                     f"{20 * np.log10(max(info['peak_wet'], 1e-9)):.1f}")
            hashes = f"{info['files']['dry']['sha256'][:10]} / {info['files']['wet']['sha256'][:10]}"
            rows.append((name, f"{info['seconds']:.2f} s", int(info["n_samples"]), peaks, what,
                         Html(f"<code>{html.escape(hashes)}</code>")))
        table = html_table(["split", "length", "samples", "peak dry / wet (dBFS)", "content",
                            "sha256 dry / wet"], rows)
        return (table
                + f"<p>Sample rate {self.sr} Hz; target effect: "
                f"{html.escape(self.manifest['effect_description'])}; "
                f"recipe key <code>{html.escape(self.manifest['key'])}</code>.</p>")

    def verify(self) -> None:
        """Check every file's sha256 against the manifest; raises AudioFileError on a mismatch."""
        for name, info in self.manifest["splits"].items():
            for role, f in info["files"].items():
                p = self.path / f["path"]
                if _sha256(p) != f["sha256"]:
                    raise AudioFileError(problem(
                        p, found="contents that differ from the manifest's sha256",
                        expected=f"the {role} signal of split {name!r} as built",
                        fix="delete the data folder and rebuild it (fxlab run --steps 01)"))


def load_dataset(path: str | os.PathLike, *, verify: bool = False) -> Dataset:
    """Open the data set folder ``path`` (holding ``manifest.json``); ``verify`` checks hashes."""
    p = Path(path)
    mf = p / "manifest.json"
    if not mf.exists():
        raise AudioFileError(problem(
            p, found="no manifest.json", expected="a data set folder built by fxlab",
            fix="build it first: run notebook 01_synthesize_data or `fxlab run --steps 01`"))
    try:
        manifest = json.loads(mf.read_text())
    except json.JSONDecodeError as e:
        raise AudioFileError(problem(mf, found=f"invalid JSON ({e})", expected="a manifest written by fxlab",
                                     fix="delete the folder and rebuild the data set")) from e
    for name, info in manifest.get("splits", {}).items():
        for f in info["files"].values():
            if not (p / f["path"]).exists():
                raise AudioFileError(problem(
                    p / f["path"], found="a missing file", expected=f"split {name!r} listed in the manifest",
                    fix="delete the folder and rebuild the data set"))
    ds = Dataset(p, manifest)
    if verify:
        ds.verify()
    return ds


@dataclass(frozen=True)
class DataConfig(NotebookConfig):
    """Notebook 01's parameters, frozen: field names equal the notebook's parameter names.

    Attributes
    ----------
    run_dir : str
        The run folder; the data set goes to ``run_dir/data``.
    seed : int
        Seed of the synthetic splits.
    train_set : str
        One of :data:`TRAIN_SETS`.
    effect : str
        The target effect's name (``fxlab.effects.list_effects()``).
    effect_params : dict
        Its parameters (the study: ``{"cutoff_hz": 440.0, "order": 1}``).
    sample_rate : int > 0 [Hz]
    val1_seconds : float > 0 [s]
        Length of Validation 1.
    val2_seconds : float > 0 [s] or None
        Cut Validation 2 (the speech) to this length; ``None`` keeps it whole.
    plot_seconds : float > 0 [s]
        Length of each signal plotted and played in the notebook.
    cache_dir : str
        Data-set cache folder; ``""`` means ``reports/_cache`` beside the run folder.
    knobs : str
        Comma-separated knobs of ``effect`` to condition on (``""``: the thesis study, one
        setting). Otherwise the data set renders every split at a grid of settings
        (:func:`recipe`'s ``conditioning``).
    knob_points : int >= 2
        Values per knob of the training grid, spread on each knob's scale.
    knob_values : dict
        ``{knob: [value, ...]}``: explicit grid values for some knobs instead.
    knob_holdout : list of dict or None
        The settings of Validation 1 and 2, never trained on; ``None``: the grid's middle setting.
    train_levels : str
        Comma-separated peak levels of the training input, dBFS (each from -60 to 0), e.g.
        ``"0,-12,-24"``: the training split's chunks at those peaks in turn, each target the
        effect's output at that level (:func:`recipe`); ``""``: every chunk at -6.02 dBFS.
    """

    run_dir: str
    seed: int
    train_set: str
    effect: str
    effect_params: dict
    sample_rate: int
    val1_seconds: float
    val2_seconds: float | None
    plot_seconds: float
    cache_dir: str
    knobs: str = ""
    knob_points: int = 5
    knob_values: dict = field(default_factory=dict)
    knob_holdout: list | None = None
    train_levels: str = ""

    def __post_init__(self):
        if self.train_set not in TRAIN_SETS:
            raise unknown_name("training set", self.train_set, list(TRAIN_SETS))
        check_sr(self.sample_rate, name="sample_rate")
        if not isinstance(self.effect_params, dict):
            raise ParameterError(problem(
                f"effect_params={self.effect_params!r}", found=type(self.effect_params).__name__,
                expected="a mapping of the effect's parameters",
                fix='pass e.g. {"cutoff_hz": 440.0, "order": 1}'))
        if not (isinstance(self.plot_seconds, int | float) and self.plot_seconds > 0):
            raise ParameterError(problem(
                f"plot_seconds={self.plot_seconds!r}", found=repr(self.plot_seconds),
                expected="a length in seconds > 0", fix="pass e.g. plot_seconds=1.0"))
        self.target  # noqa: B018 -- an unknown effect or parameter fails here, with its name
        self.levels  # noqa: B018 -- a bad train_levels fails here, naming the value
        self.recipe()  # an unknown knob, a value out of range or a bad holdout fails here

    @property
    def target(self):
        """The target effect (:class:`fxlab.effects.Effect`)."""
        from fxlab.effects import get_effect

        return get_effect(self.effect, **self.effect_params)

    @property
    def data_dir(self) -> Path:
        """``run_dir/data``."""
        return Path(self.run_dir) / "data"

    @property
    def conditioning(self) -> dict | None:
        """The ``conditioning`` request of :func:`recipe`, or ``None`` without ``knobs``."""
        if not str(self.knobs).strip():
            return None
        return {"knobs": str(self.knobs), "n": self.knob_points, "values": dict(self.knob_values or {}),
                "holdout": self.knob_holdout}

    @property
    def levels(self) -> tuple[float, ...]:
        """The training split's peak levels, dBFS, loudest first (:func:`parse_train_levels`);
        ``()`` without ``train_levels``."""
        return parse_train_levels(self.train_levels)

    def recipe(self) -> dict:
        """The data set's :func:`recipe` (what the cache key hashes)."""
        return recipe(train_set=self.train_set, effect=self.target.spec, sr=self.sample_rate,
                      seed=self.seed, val1_seconds=self.val1_seconds, val2_seconds=self.val2_seconds,
                      conditioning=self.conditioning, train_levels=self.levels or None)


def build_study_data(config: DataConfig, *, log=print) -> Dataset:
    """Build (or reuse from the cache) the data set ``config`` describes into ``config.data_dir``."""
    return build_dataset(config.data_dir, train_set=config.train_set, effect=config.target.spec,
                         sr=config.sample_rate, seed=config.seed, val1_seconds=config.val1_seconds,
                         val2_seconds=config.val2_seconds, cache_dir=config.cache_dir or None,
                         conditioning=config.conditioning, train_levels=config.levels or None, log=log)
