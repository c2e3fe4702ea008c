"""Data for knob-conditioned networks: a dry signal rendered through an effect over a knob grid.

A conditioned network learns one effect at every setting of its knobs from examples at a few
settings: about five values per knob suffice in the literature (an analog EQ and a compressor
were learnt from four to six). :func:`knob_grid` spreads the values of each knob evenly on its
own scale (log for frequencies, ratios and times; linear for dB and fractions) and takes every
combination; :func:`plan_settings` holds chosen settings out for validation -- settings the
network never sees, to measure how it interpolates between those it saw. A conditioned network
(``build_model("lstm", knobs=K)``) reads ``[n, 1 + K]`` inputs: channel 0 the dry audio, then
the ``K`` knob values normalised to [0, 1] by :meth:`fxlab.effects.Knob.normalise`
(:func:`knob_inputs`).

- :func:`knob_grid`        the settings of a grid: ``[{knob: value, ...}, ...]``
- :func:`knob_inputs`      one signal and one setting as a ``[n, 1 + K]`` network input
- :func:`plan_settings`    the training and held-out settings of a grid (what a data set renders)
- :func:`resolve_conditioning`  a data set's conditioning request, resolved to knobs and settings
- :func:`same_setting`     whether two settings are the same
- :func:`setting_starts`   where the setting changes in a ``[n, 1 + K]`` input
- :func:`render_inputs`    run a model over ``[n, 1 + K]`` inputs, from a zero state at every setting

Data sets on disk (:func:`fxlab.datasets.build_dataset` with ``conditioning=``, notebook 01's
``knobs`` parameter) render them: one long signal per split, the dry signal rendered through the
effect at each setting in turn, from silence, the settings and
where each starts listed in the manifest; :attr:`fxlab.datasets.Split.inputs` rebuilds the
``[n, 1 + K]`` input, and training cuts segments that never straddle two settings.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from fxlab.effects import Effect, Knob, effect_from_spec
from fxlab.errors import ParameterError, problem, unknown_name

__all__ = ["DEFAULT_GRID_SIZE", "knob_grid", "knob_inputs", "plan_settings", "render_inputs",
           "resolve_conditioning", "same_setting", "setting_starts"]

#: Values per knob of a grid (the literature finds about five enough).
DEFAULT_GRID_SIZE = 5


def _varied(effect: Effect, names: Sequence[str] | None) -> tuple[Knob, ...]:
    if not effect.knobs:
        raise ParameterError(problem(
            effect.describe(), found="an effect without knobs",
            expected="an effect that declares knobs (effect.knobs)",
            fix='pick one, e.g. get_effect("drive") or get_effect("pedalboard.Distortion")'))
    if names is None:
        return effect.knobs
    if isinstance(names, str):
        names = [names]
    if not names:
        raise ParameterError(problem(
            "knobs", found="an empty list", expected="one or more knob names",
            fix=f"pass knobs= some of {', '.join(k.name for k in effect.knobs)}"))
    knobs = tuple(effect.knob(n) for n in names)
    if len(set(names)) != len(names):
        raise ParameterError(problem(
            "knobs", found=f"{list(names)} (a name twice)", expected="each knob once",
            fix="list each knob once"))
    return knobs


def knob_grid(effect: Effect, knobs: Sequence[str] | None = None, *, n: int = DEFAULT_GRID_SIZE,
              values: Mapping[str, Sequence[float]] | None = None) -> list[dict[str, float]]:
    """Every combination of ``n`` values per knob, each spread evenly on its knob's scale.

    Parameters
    ----------
    effect : Effect
    knobs : sequence of str, optional
        The knobs to vary, in the order a network will read them (default: all of
        ``effect.knobs``); the others stay at the effect's values.
    n : int >= 2
        Values per knob (:data:`DEFAULT_GRID_SIZE`).
    values : {knob: sequence of float}, optional
        Explicit values for some knobs (checked against their ranges) instead of ``n`` spread ones.

    Returns
    -------
    settings : list of dict
        ``{knob: value}`` per setting (only the varied knobs), the last knob varying fastest.

    Raises
    ------
    UnknownNameError, ParameterError
        An unknown knob, a value out of range, ``n < 2``, an effect without knobs.
    """
    varied = _varied(effect, knobs)
    values = dict(values or {})
    for name in values:
        if name not in [k.name for k in varied]:
            raise unknown_name("varied knob", name, [k.name for k in varied])
    axes = []
    for k in varied:
        if k.name in values:
            vs = tuple(k.check(v, effect.name) for v in values[k.name])
            if not vs:
                raise ParameterError(problem(
                    f"values[{k.name!r}]", found="no values", expected="one or more values",
                    fix=f"pass values in [{k.low:g}, {k.high:g}]"))
        else:
            vs = k.grid(n)
        axes.append(vs)
    return [dict(zip([k.name for k in varied], combo, strict=True))
            for combo in itertools.product(*axes)]


def same_setting(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    """Whether two settings name the same knobs with the same values (``np.isclose``)."""
    return set(a) == set(b) and all(np.isclose(float(a[k]), float(b[k])) for k in a)


def plan_settings(effect: Effect, knobs: Sequence[str] | None = None, *, n: int = DEFAULT_GRID_SIZE,
                  values: Mapping[str, Sequence[float]] | None = None,
                  holdout: Sequence[Mapping[str, float]] | None = None
                  ) -> tuple[tuple[Knob, ...], list[dict[str, float]], list[dict[str, float]]]:
    """The varied knobs, the training settings and the held-out settings of a grid.

    ``knobs``, ``n``, ``values``: the grid (:func:`knob_grid`). ``holdout``: validation settings,
    a value for every varied knob each; one on the grid is taken out of training, one off the
    grid is a setting the network never sees between those it does. Default: the grid's middle
    setting. ``[]``: none.

    Raises
    ------
    UnknownNameError, ParameterError
        An unknown knob, a value out of range, a holdout setting that misses a knob or holds out
        every setting, an effect without knobs.
    """
    effect = effect_from_spec(effect)
    varied = _varied(effect, knobs)
    names = [k.name for k in varied]
    grid = knob_grid(effect, names, n=n, values=values)
    if holdout is None:
        middle = [k.grid(n)[n // 2] if k.name not in (values or {}) else
                  list(values[k.name])[len(values[k.name]) // 2] for k in varied]
        holdout = [dict(zip(names, middle, strict=True))]
    held: list[dict[str, float]] = []
    for h in holdout:
        if not isinstance(h, Mapping) or set(h) != set(names):
            raise ParameterError(problem(
                f"holdout setting {h!r}", found=f"knobs {sorted(h) if isinstance(h, Mapping) else h}",
                expected=f"a value for each varied knob and no other: {', '.join(names)}",
                fix=f"write it like {grid[0]!r}"))
        held.append({k.name: float(k.check(h[k.name], effect.name)) for k in varied})
    train = [{k: float(v) for k, v in s.items()} for s in grid if not any(same_setting(s, h) for h in held)]
    if not train:
        raise ParameterError(problem(
            "holdout", found="every setting of the grid held out", expected="some left to train on",
            fix="hold out fewer settings or widen the grid (n=)"))
    return varied, train, held


def resolve_conditioning(effect, conditioning: dict) -> dict:
    """A data set's ``conditioning`` request (``{"knobs": [...] or "a,b", "n", "values",
    "holdout"}``) resolved and checked: ``{"knobs": [Knob dicts], "train_settings": [...],
    "val_settings": [...]}``, what :func:`fxlab.datasets.recipe` records. At least one setting
    must be held out (Validation 1 and 2 are rendered there)."""
    allowed = {"knobs", "n", "values", "holdout"}
    if not isinstance(conditioning, dict) or not set(conditioning) <= allowed or "knobs" not in conditioning:
        raise ParameterError(problem(
            f"conditioning={conditioning!r}", found=repr(conditioning),
            expected=f"a dict with 'knobs' and optionally {sorted(allowed - {'knobs'})}",
            fix='pass e.g. {"knobs": ["gain_db"], "n": 5}'))
    names = conditioning["knobs"]
    names = [n.strip() for n in names.split(",") if n.strip()] if isinstance(names, str) else list(names)
    holdout = conditioning.get("holdout")
    varied, train, held = plan_settings(
        effect, names, n=int(conditioning.get("n") or DEFAULT_GRID_SIZE),
        values=conditioning.get("values") or None, holdout=None if holdout is None else list(holdout))
    if not held:
        raise ParameterError(problem(
            "conditioning holdout", found="no held-out setting",
            expected="at least one setting for Validation 1 and 2 (settings never trained on)",
            fix="leave holdout out (the grid's middle) or list settings between the grid's"))
    return {"knobs": [k.to_dict() for k in varied], "train_settings": train, "val_settings": held}


def setting_starts(inputs: np.ndarray) -> np.ndarray:
    """Indices where a ``[n, 1 + K]`` input's knob columns change (0 first): one per setting run.

    Returns ``[0]`` for an unconditioned ``(n,)`` or ``(n, 1)`` input.
    """
    a = np.asarray(inputs)
    if a.ndim == 1 or a.shape[1] == 1 or a.shape[0] < 2:
        return np.zeros(1, np.int64)
    change = np.flatnonzero(np.any(a[1:, 1:] != a[:-1, 1:], axis=1)) + 1
    return np.concatenate([[0], change]).astype(np.int64)


def render_inputs(model, inputs: np.ndarray) -> np.ndarray:
    """Run a model over ``[n, 1 + K]`` inputs (audio, normalised knobs), offline.

    The state starts at zero wherever the setting changes (:func:`setting_starts`), as the effect
    was rendered from silence at each setting; within a run of one setting the knob columns are
    fed as they are. This suits knob columns that hold still for stretches (a data set's settings);
    columns that change every sample (a knob gliding) would restart the state every sample --
    feed those to :meth:`fxlab.runtime.Processor.process_inputs` directly. ``model``: a
    :class:`fxlab.runtime.Processor`, a ``TrainedModel`` or a Keras model. An unconditioned
    model takes ``(n,)``.

    Returns
    -------
    y : np.ndarray [shape=(n,), float32]
    """
    from fxlab.runtime import Processor, make_processor

    proc = model if isinstance(model, Processor) else (
        model.offline_processor if hasattr(model, "offline_processor") else make_processor(model))
    a = np.asarray(inputs, np.float32)
    starts = setting_starts(a)
    ends = np.append(starts[1:], a.shape[0])
    out = []
    for s, e in zip(starts, ends, strict=True):
        proc.reset()
        out.append(proc.process_inputs(a[s:e]))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def knob_inputs(dry: np.ndarray, knobs: Sequence[Knob], setting: Mapping[str, float]) -> np.ndarray:
    """A conditioned network's input for one signal at one setting.

    Parameters
    ----------
    dry : np.ndarray [shape=(n,)]
    knobs : sequence of Knob
        The network's knobs, in its input order.
    setting : {knob name: value}
        A value (knob units) for each of ``knobs``.

    Returns
    -------
    x : np.ndarray [shape=(n, 1 + K), float32]
        The audio, then each knob's normalised value repeated along time.
    """
    dry = np.asarray(dry, np.float32).reshape(-1)
    missing = [k.name for k in knobs if k.name not in setting]
    if missing:
        raise ParameterError(problem(
            f"setting {dict(setting)!r}", found=f"no value for {', '.join(missing)}",
            expected=f"a value for every knob: {', '.join(k.name for k in knobs)}",
            fix="give each knob a value"))
    u = np.array([k.normalise(k.check(setting[k.name])) for k in knobs], np.float32)
    return np.concatenate([dry[:, None], np.broadcast_to(u, (dry.size, len(knobs)))], axis=1)


