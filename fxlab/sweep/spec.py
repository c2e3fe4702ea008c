"""A sweep's specification: a base profile, its steps, and the points (a grid, a list, or both).

A spec is a YAML file::

    description: LSTM width against the loss, three seeds each
    profile: quick                  # base profile: a name (fxlab profiles) or a YAML path
    steps: [01, 02, 03]             # optional; default: the profile's steps
    parameters:                     # optional; given to every point, as -p would be
      models: lstm
    grid:                           # optional; every combination of these values
      sample_units: [8, 32, 96]
      seed: [0, 1, 2]
    points:                         # optional; listed points, each crossed with the grid
      - {loss: esr}
      - {loss: "esr+mrstft"}

At least one of ``grid`` and ``points`` must be given. Each point is one pipeline run whose
overrides are ``parameters`` then the point's own values; every point is resolved with
:func:`fxlab.pipeline.plan` when the spec is read, so an unknown name or a value of the wrong type
fails before anything runs, naming the spec file and the point.

- :func:`load_spec`   read and check a spec file; returns a :class:`SweepSpec`
- :func:`point_name`  the folder name of a point, from its swept values (stable across reruns)
- :class:`SweepSpec`, :class:`Point`
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fxlab.errors import FxlabError, ParameterError, problem

__all__ = ["Point", "SweepSpec", "load_spec", "point_name"]

_KEYS = ("description", "profile", "steps", "parameters", "grid", "points")
_EXAMPLE = "see the spec format in fxlab/sweep/spec.py (profile, steps, parameters, grid, points)"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Point:
    """One point of a sweep: its folder name, its swept values and every override it runs with."""

    name: str
    swept: dict[str, Any]
    overrides: dict[str, Any]


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep spec (see the module docstring).

    Attributes
    ----------
    path : Path
        The spec file.
    description : str
    profile : str
        The base profile's name or path.
    steps : list of str
        The steps every point runs, in study order (full names, e.g. ``"02_train"``).
    parameters : dict
        The overrides shared by every point.
    swept : list of str
        The names that vary across points, in the spec's order.
    points : list of Point
    """

    path: Path
    description: str
    profile: str
    steps: list[str]
    parameters: dict[str, Any]
    swept: list[str]
    points: list[Point] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The spec as recorded in ``sweep.json``."""
        return {"path": str(self.path), "description": self.description, "profile": self.profile,
                "steps": self.steps, "parameters": self.parameters, "swept": self.swept,
                "points": [{"name": p.name, "swept": p.swept, "overrides": p.overrides}
                           for p in self.points]}


def _slug(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return _UNSAFE.sub(".", text).strip(".") or "empty"


def point_name(swept: dict[str, Any]) -> str:
    """The folder name of a point: ``name-value`` pairs joined by ``_``, e.g. ``sample_units-8_seed-0``.

    Values are made safe for a folder name (any run of characters other than letters, digits, ``.``,
    ``_`` and ``-`` becomes one dot).
    A name longer than 80 characters is cut and ends in a hash of the values, so it stays unique.
    """
    if not swept:
        return "point"
    name = "_".join(f"{k}-{_slug(v)}" for k, v in swept.items())
    if len(name) > 80:
        digest = hashlib.sha256(json.dumps(swept, sort_keys=True).encode()).hexdigest()[:10]
        name = f"{name[:68]}-{digest}"
    return name


def _bad(path: Path, found: str, expected: str, fix: str) -> ParameterError:
    return ParameterError(problem(f"sweep spec {path}", found=found, expected=expected, fix=fix))


def _read(path: Path) -> dict:
    if not path.is_file():
        raise _bad(path, "no such file", "a sweep spec (YAML)", "give the path of an existing spec file")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise _bad(path, f"invalid YAML ({e})", "a mapping", "correct the file's syntax") from e
    if not isinstance(raw, dict):
        raise _bad(path, f"a {type(raw).__name__}", "a mapping of " + ", ".join(_KEYS), _EXAMPLE)
    extra = sorted(set(raw) - set(_KEYS))
    if extra:
        raise _bad(path, f"unknown keys {extra}", "only " + ", ".join(_KEYS),
                   "put notebook parameters under 'parameters', 'grid' or 'points'")
    if "profile" not in raw or not isinstance(raw["profile"], str) or not raw["profile"]:
        raise _bad(path, "no 'profile'", "the base profile's name or path, e.g. profile: quick",
                   "add a line 'profile: quick' (fxlab profiles lists them)")
    return raw


def _grid(path: Path, raw: dict) -> list[dict[str, Any]]:
    grid = raw.get("grid")
    if grid is None:
        return [{}]
    if not isinstance(grid, dict) or not grid:
        raise _bad(path, f"grid = {grid!r}", "a mapping NAME: [value, value, ...]",
                   "write e.g. 'grid: {seed: [0, 1, 2]}'")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise _bad(path, f"grid.{name} = {values!r}", "a non-empty list of values",
                       f"write e.g. '{name}: [{values!r}]' for a single value, or move it to 'parameters'")
        if len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            raise _bad(path, f"grid.{name} = {values!r} repeats a value", "each value once",
                       "remove the repeated value (seeds give repeats: list each seed once)")
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grid.values())]


def _points(path: Path, raw: dict) -> list[dict[str, Any]]:
    points = raw.get("points")
    if points is None:
        return [{}]
    if not isinstance(points, list) or not points:
        raise _bad(path, f"points = {points!r}", "a non-empty list of mappings NAME: value",
                   "write e.g. 'points: [{loss: esr}, {loss: mse}]'")
    for i, p in enumerate(points):
        if not isinstance(p, dict) or not p:
            raise _bad(path, f"points[{i}] = {p!r}", "a non-empty mapping NAME: value",
                       "write each point as {name: value, ...}")
    return [dict(p) for p in points]


def _steps(path: Path, raw: dict) -> list[str] | None:
    steps = raw.get("steps")
    if steps is None:
        return None
    if isinstance(steps, str | int):
        steps = [steps]
    if not isinstance(steps, list) or not steps:
        raise _bad(path, f"steps = {steps!r}", "a list of steps, e.g. [01, 02, 03]",
                   "list the steps to run, or leave 'steps' out to run the profile's")
    return [str(s).zfill(2) if isinstance(s, int) else str(s) for s in steps]


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and check the sweep spec at ``path``; every point is resolved against the notebooks.

    Raises
    ------
    ParameterError, UnknownNameError
        For a missing or malformed file, an unknown key, an empty grid, a name swept twice or both
        fixed and swept, two points that are the same, and (from :func:`fxlab.pipeline.plan`) an
        unknown profile, step or parameter or a value of the wrong type, naming the point.
    """
    from fxlab import pipeline

    path = Path(path)
    raw = _read(path)
    fixed = raw.get("parameters") or {}
    if not isinstance(fixed, dict):
        raise _bad(path, f"parameters = {fixed!r}", "a mapping NAME: value",
                   "write one 'name: value' per line under 'parameters'")
    grid, listed = _grid(path, raw), _points(path, raw)
    if raw.get("grid") is None and raw.get("points") is None:
        raise _bad(path, "neither 'grid' nor 'points'", "at least one of them",
                   "add e.g. 'grid: {seed: [0, 1, 2]}'")
    grid_names = set(grid[0])
    for i, p in enumerate(listed):
        both = sorted(grid_names & set(p))
        if both:
            raise _bad(path, f"points[{i}] sets {both}, which the grid sweeps too",
                       "each name in one place", "remove it from the point or from the grid")
    swept: list[str] = list(dict.fromkeys([k for p in listed for k in p] + list(grid[0])))  # spec order
    shared = sorted(set(fixed) & set(swept))
    if shared:
        raise _bad(path, f"{shared} both in 'parameters' and swept", "each name in one place",
                   "remove it from 'parameters' (the swept value would win)")
    if "run_dir" in set(fixed) | set(swept):
        raise _bad(path, "the name 'run_dir'", "names the pipeline does not set itself",
                   "leave run_dir out: each point runs in reports/<sweep-id>/<point>/")

    base = raw["profile"]
    if base.endswith((".yaml", ".yml")) and not Path(base).is_absolute():
        base = str(path.parent / base)  # a profile file beside the spec
    try:
        pipeline.load_profile(base)
    except FxlabError as e:
        raise type(e)(f"sweep spec {path}: {e}") from e
    steps = _steps(path, raw)
    points, seen = [], {}
    for listed_values, grid_values in itertools.product(listed, grid):
        values = {**listed_values, **grid_values}
        swept_values = {k: values[k] for k in swept if k in values}
        overrides = {**fixed, **swept_values}
        try:
            resolved = pipeline.plan(base, steps=steps, overrides=overrides)
        except FxlabError as e:
            raise type(e)(f"sweep spec {path}, point {swept_values}: {e}") from e
        key = json.dumps(swept_values, sort_keys=True)
        if key in seen:
            raise _bad(path, f"the point {swept_values} twice", "every point different",
                       "remove the repeated point")
        name = point_name(swept_values)
        if name in seen.values():
            name = f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        seen[key] = name
        points.append(Point(name, swept_values, overrides))
    return SweepSpec(path=path, description=str(raw.get("description", "")).strip(), profile=base,
                     steps=[s for s, _ in resolved], parameters=dict(fixed), swept=swept,
                     points=points)
