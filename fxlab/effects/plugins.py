"""Effects hosted from plugins: pedalboard's built-in plugins by name, and VST3/AU plugin files.

Knobs declared for pedalboard's plugins (:data:`PEDALBOARD_KNOBS`; ranges are pedalboard's own
or narrower, defaults its defaults): Distortion ``drive_db``, Clipping ``threshold_db``,
Compressor ``threshold_db``/``ratio``, Chorus ``rate_hz``/``depth``/``mix``, Gain ``gain_db``.
The other plugins, and VST3/AU files, declare none (their attributes are still parameters).
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from fxlab.effects.base import Effect, Knob
from fxlab.errors import AudioFileError, ParameterError, problem, unknown_name

__all__ = ["PEDALBOARD_KNOBS", "PedalboardEffect", "PluginFileEffect", "pedalboard_plugin_names"]

#: The knobs of pedalboard's plugins, by class name (the others declare none).
PEDALBOARD_KNOBS: dict[str, tuple[Knob, ...]] = {
    "Distortion": (Knob("drive_db", 0.0, 60.0, 25.0, "dB", "linear"),),
    "Clipping": (Knob("threshold_db", -40.0, 0.0, -6.0, "dB", "linear"),),
    "Compressor": (Knob("threshold_db", -60.0, 0.0, 0.0, "dB", "linear"),
                   Knob("ratio", 1.0, 20.0, 1.0, "", "log")),
    "Chorus": (Knob("rate_hz", 0.1, 10.0, 1.0, "Hz", "log"),
               Knob("depth", 0.0, 1.0, 0.25, "", "linear"),
               Knob("mix", 0.0, 1.0, 0.5, "", "linear")),
    "Gain": (Knob("gain_db", -24.0, 24.0, 1.0, "dB", "linear"),),
}

_PEDALBOARD_PREFIX = "pedalboard."
# Containers, abstract bases and plugins that need a file to exist are not offered by name.
_PEDALBOARD_EXCLUDED = {"Chain", "Mix", "Pedalboard", "PluginContainer", "Plugin",
                        "ExternalPlugin", "IIRFilter", "VST3Plugin", "AudioUnitPlugin"}
# Plugins whose output is a linear, time-invariant function of the input (at fixed parameters).
_PEDALBOARD_LTI = {"Gain", "Invert", "HighpassFilter", "LowpassFilter", "PeakFilter",
                   "LowShelfFilter", "HighShelfFilter", "Delay", "Reverb", "Convolution"}
_PLUGIN_META = {"is_effect", "is_instrument", "parameters", "name", "descriptive_name",
                "category", "manufacturer_name", "version", "identifier", "raw_state",
                "preset_data", "has_shared_container", "reported_latency_samples"}

@functools.lru_cache(maxsize=1)
def _pedalboard_classes() -> dict[str, type]:
    """Every pedalboard plugin class that can be made without arguments, by class name."""
    import pedalboard

    found: dict[str, type] = {}
    for cls_name, cls in inspect.getmembers(pedalboard, inspect.isclass):
        if cls_name.startswith("_") or cls_name in _PEDALBOARD_EXCLUDED:
            continue
        if not issubclass(cls, pedalboard.Plugin):
            continue
        external = getattr(pedalboard, "ExternalPlugin", None)
        if external is not None and issubclass(cls, external):
            continue
        try:
            cls()
        except Exception:  # needs constructor arguments (files, sub-plugins): not by name
            continue
        found[cls_name] = cls
    return found


def pedalboard_plugin_names() -> list[str]:
    """Names of pedalboard's built-in plugins as effect names: ``["pedalboard.Bitcrush", ...]``."""
    return [_PEDALBOARD_PREFIX + n for n in sorted(_pedalboard_classes())]


def _plugin_param_names(plugin: Any) -> list[str]:
    cls = type(plugin)
    names = [p for p in dir(cls)
             if not p.startswith("_") and isinstance(getattr(cls, p, None), property)
             and p not in _PLUGIN_META]
    return sorted(names)


def _is_enum(value: Any) -> bool:
    """True for Python enums and pybind11 enums (which have ``__members__`` but no Enum base)."""
    return isinstance(value, enum.Enum) or isinstance(getattr(type(value), "__members__", None),
                                                       Mapping)


def _json_value(value: Any) -> Any:
    """A plugin attribute as a JSON-able value (enums by name, numpy/float32 as float)."""
    if _is_enum(value):
        return value.name
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)


def _set_plugin_param(plugin: Any, key: str, value: Any, who: str) -> None:
    current = getattr(plugin, key)
    if _is_enum(current) and isinstance(value, str):
        enum_cls = type(current)
        members = list(enum_cls.__members__)
        if value not in members:
            raise ParameterError(problem(
                f"{who}: {key}={value!r}", found=repr(value),
                expected=f"one of {', '.join(members)}", fix=f"pass {key} as one of those names",
            ))
        value = enum_cls.__members__[value]
    elif isinstance(current, bool):
        if not isinstance(value, bool | numbers.Integral) or value not in (0, 1):
            raise ParameterError(problem(
                f"{who}: {key}={value!r}", found=repr(value), expected="True or False",
                fix=f"pass {key}=True or {key}=False",
            ))
        value = bool(value)
    elif isinstance(current, numbers.Real):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
            and math.isfinite(float(value))
        if ok and key.endswith("_hz"):
            ok = float(value) > 0
        if not ok:
            raise ParameterError(problem(
                f"{who}: {key}={value!r}", found=repr(value),
                expected="a finite number" + (" > 0 (a frequency in Hz)" if key.endswith("_hz")
                                              else f" (default {_json_value(current)!r})"),
                fix=f"pass {key} as a number within the plugin's documented range",
            ))
    try:
        setattr(plugin, key, value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ParameterError(problem(
            f"{who}: {key}={value!r}", found=f"{value!r}, which the plugin rejects: {exc}",
            expected=f"a value within the plugin's range (default {_json_value(current)!r})",
            fix=f"pass {key} within that range",
        )) from exc


def _set_plugin_params(plugin: Any, params: Mapping[str, Any], valid: list[str], who: str) -> None:
    """Set each of ``params`` on ``plugin``; a name not in ``valid`` is an error listing them."""
    for key, value in params.items():
        if key not in valid:
            raise ParameterError(problem(
                f"{who}: parameter {key!r}", found=f"{key}={value!r}",
                expected=f"one of its parameters: {', '.join(valid) or '(none)'}",
                fix="use one of those names (check the spelling)",
            ))
        _set_plugin_param(plugin, key, value, who)


class PedalboardEffect(Effect):
    """One of pedalboard's built-in plugins (``"pedalboard.Reverb"``, ...).

    Parameters are the plugin's attributes (``room_size``, ``drive_db``, ...); an unknown one
    raises :class:`~fxlab.errors.ParameterError` listing the valid ones, and a value the plugin
    rejects raises one naming it. Enum-valued attributes (e.g. ``LadderFilter.mode``) take the
    member's name as a string (``mode="HPF12"``). ``params`` holds every attribute after
    construction (defaults filled in), so the spec pins the plugin completely.
    """

    def __init__(self, class_name: str, **params: Any):
        classes = _pedalboard_classes()
        if class_name not in classes:
            raise unknown_name("pedalboard plugin", _PEDALBOARD_PREFIX + class_name,
                               pedalboard_plugin_names())
        self.name = _PEDALBOARD_PREFIX + class_name
        self.class_name = class_name
        self.is_linear = class_name in _PEDALBOARD_LTI
        self.KNOBS = PEDALBOARD_KNOBS.get(class_name, ())
        plugin = classes[class_name]()
        valid = _plugin_param_names(plugin)
        _set_plugin_params(plugin, params, valid, self.name)
        self._plugin = plugin
        super().__init__({k: _json_value(getattr(plugin, k)) for k in valid})
        # keep what the caller asked for exactly (float32 rounding of attributes aside)
        for key, value in params.items():
            current = getattr(plugin, key)
            if not _is_enum(current) and not isinstance(current, bool):
                self.params[key] = _json_value(value)

    def _with_params(self, params: dict[str, Any]) -> Effect:
        return type(self)(self.class_name, **params)

    def process(self, x: np.ndarray, sr: int | float) -> np.ndarray:
        return self._plugin.process(x, float(sr), reset=True)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in self.params.items())
        return f"pedalboard {self.class_name}({args})"


class PluginFileEffect(Effect):
    """A VST3 (or, on macOS, Audio Unit) plugin loaded from a file with ``pedalboard.load_plugin``.

    Parameters
    ----------
    path : str
        Path of the ``.vst3`` bundle (or ``.component``).
    plugin_name : str, optional
        Which plugin of a multi-plugin bundle.
    **plugin_params
        The plugin's own parameters (names as ``pedalboard`` exposes them, e.g. ``gain_db``);
        unknown ones raise an error listing the valid ones.
    """

    name = "vst3"

    def __init__(self, *, path: str | os.PathLike | None = None, plugin_name: str | None = None,
                 **plugin_params: Any):
        if path is None:
            raise ParameterError(problem(
                "vst3", found="no path", expected="path= the plugin file (.vst3 or .component)",
                fix='pass get_effect("vst3", path="/path/to/Plugin.vst3", ...)',
            ))
        path_str = os.fspath(path)
        if not os.path.exists(path_str):
            raise AudioFileError(problem(
                path_str, found="no such file or folder",
                expected="an installed VST3 plugin (.vst3 bundle) or Audio Unit (.component)",
                fix="check the path; VST3 plugins usually live in ~/.vst3, /usr/lib/vst3 or "
                    "C:\\Program Files\\Common Files\\VST3",
            ))
        import pedalboard

        try:
            plugin = pedalboard.load_plugin(path_str, plugin_name=plugin_name)
        except Exception as exc:
            raise AudioFileError(problem(
                path_str, found=f"a file pedalboard could not load as a plugin ({exc})",
                expected="a VST3 plugin (.vst3) or Audio Unit (.component) built for this machine",
                fix="check that the plugin is a 64-bit build for this operating system",
            )) from exc
        valid = sorted(getattr(plugin, "parameters", {}).keys())
        _set_plugin_params(plugin, plugin_params, valid, f"vst3 {path_str}")
        self._plugin = plugin
        params: dict[str, Any] = {"path": path_str}
        if plugin_name is not None:
            params["plugin_name"] = plugin_name
        params.update({k: _json_value(v) for k, v in plugin_params.items()})
        super().__init__(params)

    def process(self, x: np.ndarray, sr: int | float) -> np.ndarray:
        return self._plugin.process(x, float(sr), reset=True)

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v}" for k, v in self.params.items() if k != "path")
        base = os.path.basename(self.params["path"].rstrip("/\\"))
        return f"plugin {base}" + (f" ({extra})" if extra else "")
