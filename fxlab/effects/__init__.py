"""Target effects by name, through one interface.

An effect turns a dry signal into the wet signal a network must learn to imitate. Every effect is
made by name with :func:`get_effect` and is an :class:`Effect`: call it on a signal, read its
``spec`` (JSON-able, rebuilt by :func:`effect_from_spec`), ask whether it ``is_linear`` and get
one line of text from ``describe()``. Every effect declares its knobs -- the continuous controls
a network can be conditioned on -- as ``effect.knobs`` (a tuple of :class:`Knob`: name, range,
unit, default, linear/log scale) and moves to other settings with ``effect.with_knobs(**values)``
(a new effect; unknown names and out-of-range values are clear errors). ``docs/KNOBS.md`` tells
the whole layer.

The study's target (:data:`STUDY_EFFECT`) is the thesis's "high pass filter at 440 Hz"
(section 3.4), made here as a 1st-order (6 dB/octave) Butterworth high-pass. The thesis does not
state the order. The thesis made its data in Audacity and Reaper; Audacity's high-pass defaults to
a 6 dB/octave roll-off, and ``pedalboard.HighpassFilter`` is 1st order too (it equals
``scipy.signal.butter(1, 440, "highpass", fs=44100)``). A 2nd-order (12 dB/octave) filter is one
parameter away: ``get_effect("highpass", cutoff_hz=440.0, order=2)``.

Effects
-------
"highpass", "lowpass"            Butterworth, order 1 (6 dB/oct) or 2 (12 dB/oct); ``cutoff_hz``
"peaking", "lowshelf", "highshelf"   RBJ "Audio EQ cookbook" biquads; ``freq_hz``, ``gain_db``, ``q``
"pedalboard.<Class>"             every parameterless-constructible pedalboard plugin, e.g.
                                 "pedalboard.Reverb", "pedalboard.Distortion"; parameters are the
                                 plugin's attributes (``room_size=0.8``)
"drive"                          a parametric drive: gain into a tanh/asymmetric waveshaper
                                 (oversampled), tone filter, level; knobs ``gain_db``, ``tone``,
                                 ``level_db`` (:mod:`fxlab.effects.drive`)
"vst3"                           a VST3 (or Audio Unit on macOS) plugin file: ``path=...`` plus the
                                 plugin's own parameters (no knobs declared)
"lv2"                            an LV2 plugin by ``uri=...``, run by lilv's ``lv2apply`` (optional:
                                 Debian's ``lilv-utils``); knobs from its control ports

The EQ filters run with ``scipy.signal.sosfilt`` (causal, zero initial state) and also give
``sos(sr)`` and ``magnitude_response_db(freqs_hz, sr=...)``.

Functions and classes
---------------------
get_effect          make an effect by name and parameters
effect_from_spec    make an effect from its ``{"name", "params"}`` spec
list_effects        every effect name :func:`get_effect` accepts
pedalboard_plugin_names   the "pedalboard.<Class>" names found in the installed pedalboard
Effect              the interface (base class)
Knob                one knob of an effect (name, range, unit, default, scale)
DriveEffect         "drive"
Lv2Effect           "lv2"
EQFilter            base of the IIR filters: ``sos``, ``magnitude_response_db``
ButterworthFilter   "highpass" / "lowpass"
CookbookBiquad      "peaking" / "lowshelf" / "highshelf"
PedalboardEffect    a pedalboard built-in plugin
PluginFileEffect    a VST3 / AU plugin loaded from a file
STUDY_EFFECT        the study's target spec
EQ_EFFECTS          the names of the built-in EQ filters

Modules: ``base`` (the interface and knobs), ``filters`` (the EQs), ``drive`` (the parametric
drive), ``plugins`` (pedalboard, VST3/AU), ``lv2`` (LV2 through lilv); this package's ``__init__``
makes them by name.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from typing import Any

from fxlab.effects.base import Effect, Knob
from fxlab.effects.drive import DriveEffect
from fxlab.effects.filters import EQ_EFFECTS, ButterworthFilter, CookbookBiquad, EQFilter
from fxlab.effects.lv2 import Lv2Effect, lv2_available
from fxlab.effects.plugins import (
    _PEDALBOARD_PREFIX,
    PEDALBOARD_KNOBS,
    PedalboardEffect,
    PluginFileEffect,
    pedalboard_plugin_names,
)
from fxlab.errors import ParameterError, problem, unknown_name

__all__ = [
    "STUDY_EFFECT",
    "EQ_EFFECTS",
    "PEDALBOARD_KNOBS",
    "DriveEffect",
    "Effect",
    "EQFilter",
    "Knob",
    "Lv2Effect",
    "ButterworthFilter",
    "CookbookBiquad",
    "PedalboardEffect",
    "PluginFileEffect",
    "get_effect",
    "effect_from_spec",
    "list_effects",
    "lv2_available",
    "pedalboard_plugin_names",
]

STUDY_EFFECT: dict[str, Any] = {"name": "highpass", "params": {"cutoff_hz": 440.0, "order": 1}}
"""The study's target: 440 Hz Butterworth high-pass, 1st order (6 dB/octave); see the module text.
Treat it as read-only; :func:`effect_from_spec` copies what it reads."""


def list_effects() -> list[str]:
    """Every effect name :func:`get_effect` accepts: the EQs, ``"drive"``, ``"vst3"``, ``"lv2"``
    and pedalboard's plugins."""
    return [*EQ_EFFECTS, "drive", "vst3", "lv2", *pedalboard_plugin_names()]


def _check_parameter_names(name: str, cls: type, params: Mapping[str, Any]) -> None:
    """Every key of ``params`` must be a keyword of ``cls.__init__`` (``self``/``kind`` aside)."""
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kind")]
    for key in params:
        if key not in accepted:
            raise ParameterError(problem(
                f"{name}: parameter {key!r}", found=f"{key}={params[key]!r}",
                expected=f"one of its parameters: {', '.join(accepted)}",
                fix="use one of those names (check the spelling)",
            ))


def get_effect(name: str, **params: Any) -> Effect:
    """Make an effect by name.

    Parameters
    ----------
    name : str
        One of :func:`list_effects`: ``"highpass"``, ``"lowpass"`` (``cutoff_hz``, ``order``),
        ``"peaking"``, ``"lowshelf"``, ``"highshelf"`` (``freq_hz``, ``gain_db``, ``q``),
        ``"drive"`` (``gain_db``, ``tone``, ``level_db``, ``shape``, ``oversample``),
        ``"pedalboard.<Class>"`` (the plugin's attributes), ``"vst3"`` (``path``, plugin params)
        or ``"lv2"`` (``uri``, control port values).
    **params
        The effect's parameters; omitted ones take their defaults (high-/low-pass: 440 Hz,
        order 1; peaking/shelves: 1000 Hz, +6 dB, Q 0.7071).

    Returns
    -------
    Effect

    Raises
    ------
    fxlab.errors.UnknownNameError
        Unknown ``name`` (the message lists every known name).
    fxlab.errors.ParameterError
        Unknown parameter, or a value out of range (the message gives the range).
    fxlab.errors.AudioFileError
        ``"vst3"`` with a missing or unloadable plugin file.
    """
    if not isinstance(name, str):
        raise unknown_name("effect", name, list_effects())
    if name in ("highpass", "lowpass", "peaking", "lowshelf", "highshelf"):
        cls: type = ButterworthFilter if name in ("highpass", "lowpass") else CookbookBiquad
        _check_parameter_names(name, cls, params)
        return cls(name, **params)
    if name == "drive":
        _check_parameter_names(name, DriveEffect, params)
        return DriveEffect(**params)
    if name == "vst3":
        return PluginFileEffect(**params)
    if name == "lv2":
        return Lv2Effect(**params)
    if name in pedalboard_plugin_names():
        return PedalboardEffect(name[len(_PEDALBOARD_PREFIX):], **params)
    raise unknown_name("effect", name, list_effects())


def effect_from_spec(spec: Mapping[str, Any] | Effect) -> Effect:
    """Rebuild an effect from its spec ``{"name": str, "params": {...}}`` (``params`` optional).

    An :class:`Effect` passed in is returned as is. ``effect_from_spec(e.spec) == e``.
    """
    if isinstance(spec, Effect):
        return spec
    if not isinstance(spec, Mapping) or "name" not in spec \
            or not isinstance(spec.get("params", {}), Mapping) \
            or set(spec) - {"name", "params"}:
        raise ParameterError(problem(
            f"effect spec {spec!r}", found=f"{type(spec).__name__} {spec!r}",
            expected='a mapping {"name": <effect name>, "params": {<name>: <value>, ...}}',
            fix=f"write it like fxlab.effects.STUDY_EFFECT = {STUDY_EFFECT!r}",
        ))
    return get_effect(spec["name"], **copy.deepcopy(dict(spec.get("params", {}))))
