"""Target effects by name, through one interface.

An effect turns a dry signal into the wet signal a network must learn to imitate. Every effect is
made by name with :func:`get_effect` and is an :class:`Effect`: call it on a signal, read its
``spec`` (JSON-able, rebuilt by :func:`effect_from_spec`), ask whether it ``is_linear`` and get
one line of text from ``describe()``.

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
"vst3"                           a VST3 (or Audio Unit on macOS) plugin file: ``path=...`` plus the
                                 plugin's own parameters

The EQ filters run with ``scipy.signal.sosfilt`` (causal, zero initial state) and also give
``sos(sr)`` and ``magnitude_response_db(freqs_hz, sr=...)``.

Functions and classes
---------------------
get_effect          make an effect by name and parameters
effect_from_spec    make an effect from its ``{"name", "params"}`` spec
list_effects        every effect name :func:`get_effect` accepts
pedalboard_plugin_names   the "pedalboard.<Class>" names found in the installed pedalboard
Effect              the interface (base class)
EQFilter            base of the IIR filters: ``sos``, ``magnitude_response_db``
ButterworthFilter   "highpass" / "lowpass"
CookbookBiquad      "peaking" / "lowshelf" / "highshelf"
PedalboardEffect    a pedalboard built-in plugin
PluginFileEffect    a VST3 / AU plugin loaded from a file
STUDY_EFFECT        the study's target spec
EQ_EFFECTS          the names of the built-in EQ filters
"""

from __future__ import annotations

import copy
import enum
import functools
import inspect
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.signal

from fxlab.errors import AudioFileError, ParameterError, problem, unknown_name
from fxlab.util import check_sr

__all__ = [
    "STUDY_EFFECT",
    "EQ_EFFECTS",
    "Effect",
    "EQFilter",
    "ButterworthFilter",
    "CookbookBiquad",
    "PedalboardEffect",
    "PluginFileEffect",
    "get_effect",
    "effect_from_spec",
    "list_effects",
    "pedalboard_plugin_names",
]

STUDY_EFFECT: dict[str, Any] = {"name": "highpass", "params": {"cutoff_hz": 440.0, "order": 1}}
"""The study's target: 440 Hz Butterworth high-pass, 1st order (6 dB/octave); see the module text.
Treat it as read-only; :func:`effect_from_spec` copies what it reads."""

EQ_EFFECTS = ("highpass", "lowpass", "peaking", "lowshelf", "highshelf")
"""The built-in EQ filters (names for :func:`get_effect`)."""

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


# --------------------------------------------------------------------------------------------
# helpers


def _as_signal(x: object, sr: object, who: str) -> tuple[np.ndarray, int]:
    """Check an effect's input: 1-D finite float array and a positive sample rate."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ParameterError(problem(
            f"{who} input", found=f"an array of shape {arr.shape}",
            expected="a mono signal of shape (n,)",
            fix="pass one channel, e.g. x[0] or x.mean(axis=0) for a (channels, n) array",
        ))
    if not np.issubdtype(arr.dtype, np.number):
        raise ParameterError(problem(
            f"{who} input", found=f"dtype {arr.dtype}", expected="a numeric array",
            fix="pass float samples in [-1, 1]",
        ))
    return arr.astype(np.float32, copy=False), check_sr(sr, name=f"{who}: sr")


def _real(name: str, effect: str, value: object, *, low: float | None = None,
          high: float | None = None, low_open: bool = True, what: str = "") -> float:
    """Check a real-valued parameter in an (open/closed) interval; return it as float."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(float(value))
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) <= high
    if not ok:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        bracket = "(" if low_open or low is None else "["
        close = ")" if high is None else "]"
        raise ParameterError(problem(
            f"{effect}: {name}={value!r}", found=repr(value),
            expected=f"a number in {bracket}{lo}, {hi}{close}{what}",
            fix=f"pass {name} in that range",
        ))
    return float(value)


class Effect:
    """An audio effect: ``y = effect(x, sr)``.

    Subclasses set :attr:`name`, fill :attr:`params` and implement :meth:`process`.

    Attributes
    ----------
    name : str
        The name :func:`get_effect` knows it by.
    params : dict
        Its parameters (JSON-able values).
    is_linear : bool
        True when the output is a linear, time-invariant function of the input at fixed
        parameters (filters, gain, delay, reverb); False for everything else (distortion,
        compression, modulation, unknown plugins).
    """

    name: str = ""
    is_linear: bool = False

    def __init__(self, params: Mapping[str, Any]):
        self.params: dict[str, Any] = dict(params)

    @property
    def spec(self) -> dict[str, Any]:
        """``{"name": ..., "params": {...}}``: JSON-able; ``effect_from_spec(spec)`` rebuilds it."""
        return {"name": self.name, "params": copy.deepcopy(self.params)}

    def describe(self) -> str:
        """One line of human text saying what the effect does."""
        args = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({args})"

    def process(self, x: np.ndarray, sr: int | float) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, x: np.ndarray, sr: int | float) -> np.ndarray:
        """Apply the effect.

        Parameters
        ----------
        x : np.ndarray [shape=(n,)]
            Mono dry signal, linear full scale.
        sr : int > 0
            Sample rate, Hz.

        Returns
        -------
        y : np.ndarray [shape=(n,), dtype=float32]
            The wet signal, same length as ``x`` (processing starts from silence: no state is
            carried between calls).
        """
        arr, sr = _as_signal(x, sr, self.describe())
        if arr.size == 0:
            return np.zeros(0, dtype=np.float32)
        y = np.asarray(self.process(arr, sr), dtype=np.float32).reshape(-1)
        n = arr.shape[0]
        if y.shape[0] > n:
            y = y[:n]
        elif y.shape[0] < n:
            y = np.concatenate([y, np.zeros(n - y.shape[0], dtype=np.float32)])
        return y

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Effect) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(repr(self.spec))


# --------------------------------------------------------------------------------------------
# EQ filters


class EQFilter(Effect):
    """An IIR filter given as second-order sections; linear and time-invariant."""

    is_linear = True

    def sos(self, sr: int | float) -> np.ndarray:  # pragma: no cover
        """Second-order sections for ``sr`` Hz: shape ``(n_sections, 6)`` (scipy's layout)."""
        raise NotImplementedError

    def process(self, x: np.ndarray, sr: int | float) -> np.ndarray:
        return scipy.signal.sosfilt(self.sos(sr), x.astype(np.float64)).astype(np.float32)

    def magnitude_response_db(self, freqs_hz: object, *, sr: int | float) -> np.ndarray:
        """Magnitude response of the digital filter at ``freqs_hz``.

        Parameters
        ----------
        freqs_hz : array_like [shape=(k,)] of float in [0, sr/2]
            Frequencies, Hz.
        sr : int > 0
            Sample rate, Hz.

        Returns
        -------
        mag_db : np.ndarray [shape=(k,), dtype=float64]
            ``20 log10 |H(e^{j 2 pi f / sr})|`` in dB (``-inf`` where the response is exactly 0,
            e.g. a high-pass at DC).
        """
        f = np.atleast_1d(np.asarray(freqs_hz, dtype=np.float64))
        _, sr = _as_signal(np.zeros(1), sr, self.describe())
        if np.any(~np.isfinite(f)) or np.any(f < 0) or np.any(f > sr / 2):
            raise ParameterError(problem(
                f"{self.describe()}: freqs_hz", found=f"values from {f.min():g} to {f.max():g} Hz",
                expected=f"frequencies in [0, {sr / 2:g}] Hz (sr={sr})",
                fix="pass frequencies between 0 Hz and the Nyquist frequency",
            ))
        _, h = scipy.signal.sosfreqz(self.sos(sr), worN=f, fs=sr)
        with np.errstate(divide="ignore"):
            return 20.0 * np.log10(np.abs(h))

    def _check_below_nyquist(self, label: str, freq: float, sr: int | float) -> None:
        if not freq < sr / 2:
            raise ParameterError(problem(
                f"{self.name}: {label}={freq:g}", found=f"{freq:g} Hz at sr={sr}",
                expected=f"a frequency in (0, {sr / 2:g}) Hz (below Nyquist)",
                fix=f"lower {label} below {sr / 2:g} Hz or use a higher sample rate",
            ))


class ButterworthFilter(EQFilter):
    """Butterworth high-pass or low-pass, order 1 (6 dB/octave) or 2 (12 dB/octave).

    Designed with ``scipy.signal.butter(order, cutoff_hz, btype, fs=sr, output="sos")`` (the
    bilinear transform, prewarped so the -3.01 dB point is exactly at ``cutoff_hz``).

    Parameters
    ----------
    kind : {"highpass", "lowpass"}
    cutoff_hz : float > 0
        -3 dB frequency, Hz; must be below ``sr / 2`` when the filter is used.
    order : {1, 2}
        Slope beyond the cutoff: 1 = 6 dB/octave, 2 = 12 dB/octave.
    """

    ORDERS: ClassVar[tuple[int, ...]] = (1, 2)

    def __init__(self, kind: str, *, cutoff_hz: float = 440.0, order: int = 1):
        if kind not in ("highpass", "lowpass"):
            raise unknown_name("Butterworth filter type", kind, ["highpass", "lowpass"])
        self.name = kind
        cutoff = _real("cutoff_hz", kind, cutoff_hz, low=0.0, what=" Hz, below sr/2")
        if isinstance(order, bool) or not isinstance(order, numbers.Integral) \
                or int(order) not in self.ORDERS:
            raise ParameterError(problem(
                f"{kind}: order={order!r}", found=repr(order),
                expected="1 (6 dB/octave) or 2 (12 dB/octave)",
                fix="pass order=1 or order=2",
            ))
        super().__init__({"cutoff_hz": cutoff, "order": int(order)})

    def sos(self, sr: int | float) -> np.ndarray:
        cutoff = self.params["cutoff_hz"]
        self._check_below_nyquist("cutoff_hz", cutoff, sr)
        return scipy.signal.butter(self.params["order"], cutoff, self.name, fs=sr, output="sos")

    def describe(self) -> str:
        order = self.params["order"]
        label = "high-pass" if self.name == "highpass" else "low-pass"
        suffix = "st" if order == 1 else "nd"
        return (f"{label} {self.params['cutoff_hz']:g} Hz, {order}{suffix} order "
                f"({6 * order} dB/oct)")


class CookbookBiquad(EQFilter):
    """Peaking or shelving EQ: a biquad from the "Audio EQ Cookbook" (RBJ).

    Parameters
    ----------
    kind : {"peaking", "lowshelf", "highshelf"}
    freq_hz : float > 0
        Centre frequency (peaking) or shelf midpoint (shelves), Hz; below ``sr / 2`` when used.
    gain_db : float in [-48, 48]
        Boost (> 0) or cut (< 0) in dB at the centre / on the shelf.
    q : float in (0, 100]
        Quality factor: bandwidth of the peak, or shelf slope (0.7071 = the steepest shelf
        without overshoot). Shelves use the cookbook's Q form of ``alpha``.
    """

    def __init__(self, kind: str, *, freq_hz: float = 1000.0, gain_db: float = 6.0,
                 q: float = 1.0 / math.sqrt(2.0)):
        if kind not in ("peaking", "lowshelf", "highshelf"):
            raise unknown_name("cookbook biquad type", kind, ["peaking", "lowshelf", "highshelf"])
        self.name = kind
        params = {
            "freq_hz": _real("freq_hz", kind, freq_hz, low=0.0, what=" Hz, below sr/2"),
            "gain_db": _real("gain_db", kind, gain_db, low=-48.0, high=48.0, low_open=False,
                             what=" dB"),
            "q": _real("q", kind, q, low=0.0, high=100.0),
        }
        super().__init__(params)

    def sos(self, sr: int | float) -> np.ndarray:
        f0, gain_db, q = self.params["freq_hz"], self.params["gain_db"], self.params["q"]
        self._check_below_nyquist("freq_hz", f0, sr)
        a = 10.0 ** (gain_db / 40.0)
        w0 = 2.0 * math.pi * f0 / sr
        cw, sw = math.cos(w0), math.sin(w0)
        alpha = sw / (2.0 * q)
        if self.name == "peaking":
            b = [1 + alpha * a, -2 * cw, 1 - alpha * a]
            den = [1 + alpha / a, -2 * cw, 1 - alpha / a]
        else:
            sa = 2.0 * math.sqrt(a) * alpha
            if self.name == "lowshelf":
                b = [a * ((a + 1) - (a - 1) * cw + sa), 2 * a * ((a - 1) - (a + 1) * cw),
                     a * ((a + 1) - (a - 1) * cw - sa)]
                den = [(a + 1) + (a - 1) * cw + sa, -2 * ((a - 1) + (a + 1) * cw),
                       (a + 1) + (a - 1) * cw - sa]
            else:  # highshelf
                b = [a * ((a + 1) + (a - 1) * cw + sa), -2 * a * ((a - 1) + (a + 1) * cw),
                     a * ((a + 1) + (a - 1) * cw - sa)]
                den = [(a + 1) - (a - 1) * cw + sa, 2 * ((a - 1) - (a + 1) * cw),
                       (a + 1) - (a - 1) * cw - sa]
        b_arr = np.asarray(b) / den[0]
        a_arr = np.asarray(den) / den[0]
        return np.concatenate([b_arr, a_arr])[None, :]

    def describe(self) -> str:
        label = {"peaking": "peaking EQ", "lowshelf": "low shelf", "highshelf": "high shelf"}
        p = self.params
        return f"{label[self.name]} {p['freq_hz']:g} Hz, {p['gain_db']:+g} dB, Q {p['q']:.3g}"


# --------------------------------------------------------------------------------------------
# pedalboard


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
            raise unknown_name("effect", _PEDALBOARD_PREFIX + class_name, list_effects())
        self.name = _PEDALBOARD_PREFIX + class_name
        self.class_name = class_name
        self.is_linear = class_name in _PEDALBOARD_LTI
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


# --------------------------------------------------------------------------------------------
# by name


def list_effects() -> list[str]:
    """Every effect name :func:`get_effect` accepts: the EQs, ``"vst3"`` and pedalboard's plugins."""
    return [*EQ_EFFECTS, "vst3", *pedalboard_plugin_names()]


def get_effect(name: str, **params: Any) -> Effect:
    """Make an effect by name.

    Parameters
    ----------
    name : str
        One of :func:`list_effects`: ``"highpass"``, ``"lowpass"`` (``cutoff_hz``, ``order``),
        ``"peaking"``, ``"lowshelf"``, ``"highshelf"`` (``freq_hz``, ``gain_db``, ``q``),
        ``"pedalboard.<Class>"`` (the plugin's attributes) or ``"vst3"`` (``path``, plugin params).
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
        accepted = [p for p in inspect.signature(cls.__init__).parameters
                    if p not in ("self", "kind")]
        for key in params:
            if key not in accepted:
                raise ParameterError(problem(
                    f"{name}: parameter {key!r}", found=f"{key}={params[key]!r}",
                    expected=f"one of its parameters: {', '.join(accepted)}",
                    fix="use one of those names (check the spelling)",
                ))
        return cls(name, **params)
    if name == "vst3":
        return PluginFileEffect(**params)
    if name.startswith(_PEDALBOARD_PREFIX):
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
