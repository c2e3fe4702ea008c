"""Aliasing and harmonics of a run's effect and its models, setting by setting (issue: artefacts).

For a knob-conditioned run (a nonlinear effect with a knob, e.g. the ``pedal`` profile's drive),
:func:`run_aliasing` measures the grid of tones of :mod:`fxlab.aliasing` at several levels through
the run's effect and through every model that reads the knob, at each setting asked for (default:
the middle training setting, seen, and every held-out one, unseen), and keeps the result in
``run_dir/aliasing.json``. Notebook 03 shows it with :func:`fxlab.aliasing.aliasing_table` and
:func:`fxlab.plots.evaluation.plot_aliasing`.

- :func:`run_aliasing`      ``[{"setting", "seen", "target": Aliasing, "models": {name: Aliasing}}]``
- :func:`summary`           the worst excess over the effect per model (the benchmark's figures)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fxlab import progress
from fxlab.aliasing import FLOOR_DB, excess, measure_aliasing
from fxlab.evaluate.knobs import conditioned_run, setting_key

__all__ = ["measure_setting", "run_aliasing", "summary"]


def measure_setting(effect, models, setting: Mapping[str, float], *, sr: int,
                    levels_dbfs: Sequence[float], count: int) -> dict[str, Any]:
    """The effect at ``setting`` and each model (``TrainedModel``) with its knobs held there."""
    fx = effect.with_knobs(**setting)
    target = measure_aliasing(lambda x: fx(x, sr), sr=sr, levels_dbfs=levels_dbfs, count=count)
    got = {}
    for m in models:
        progress.note(f"aliasing of {m.name} at " + ", ".join(f"{k}={v:g}" for k, v in setting.items()))
        got[m.name] = measure_aliasing(lambda x, m=m: m.predict(x, knobs=dict(setting)), sr=sr,
                                       levels_dbfs=levels_dbfs, count=count)
    return {"setting": dict(setting), "target": target, "models": got}


def run_aliasing(run_dir, *, levels_dbfs: Sequence[float] = (-12.0, 0.0), count: int = 20,
                 settings: Sequence[Mapping[str, float]] | None = None) -> list[dict[str, Any]]:
    """Aliasing and harmonics of the run's effect and its knob-conditioned models per setting.

    Empty when the run is not conditioned or has no conditioned model. Writes
    ``run_dir/aliasing.json`` (per setting and system: tones, ASR, 2nd/3rd harmonic and DC per
    level, and each model's excess over the effect at every level).
    """
    run = conditioned_run(run_dir, settings)
    if run is None:
        return []
    data, models, settings, seen = run
    out = []
    for setting in settings:
        entry = measure_setting(data.effect, models, setting, sr=data.sr, levels_dbfs=levels_dbfs, count=count)
        entry["seen"] = setting_key(setting) in seen
        out.append(entry)
    record = [{"setting": e["setting"], "seen": e["seen"], "effect": e["target"].to_dict(),
               "models": {n: a.to_dict() for n, a in e["models"].items()},
               "excess": {n: {f"{lv:g}": excess(e["target"], a, level_dbfs=float(lv), name=n)
                              for lv in e["target"].levels_dbfs} for n, a in e["models"].items()}}
              for e in out]
    (Path(run_dir) / "aliasing.json").write_text(json.dumps({"floor_db": FLOOR_DB, "settings": record}, indent=1))
    return out


def summary(entries: Sequence[Mapping[str, Any]], *, level_dbfs: float = 0.0) -> dict[str, dict[str, float]]:
    """Per model, the worst over the settings of :func:`fxlab.aliasing.excess` at ``level_dbfs``."""
    out: dict[str, dict[str, float]] = {}
    for e in entries:
        for name, a in e["models"].items():
            ex = excess(e["target"], a, level_dbfs=level_dbfs, name=name)
            ex = {**ex, "asr_excess_setting": e["setting"], "h2_excess_setting": e["setting"]}
            cur = out.setdefault(name, ex)
            for key in ("asr_excess", "h2_excess"):
                if ex[f"{key}_db"] > cur[f"{key}_db"]:
                    cur.update({k: v for k, v in ex.items() if k.startswith(key)})
            for key in ("asr_worst_db_model", "asr_worst_db_effect"):
                cur[key] = max(cur[key], ex[key])
    return out
