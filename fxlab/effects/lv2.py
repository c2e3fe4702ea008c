"""LV2 plugins as effects, hosted through lilv's command-line tools (optional).

``get_effect("lv2", uri="http://plugin.org.uk/swh-plugins/foverdrive", drive=2.0)`` runs a mono
LV2 plugin over a signal with ``lv2apply`` (a float WAV in, a float WAV out, in a temporary
folder) and reads its control ports with ``lv2info``. Both come with Debian's ``lilv-utils``
(``.ci/run`` installs it, with ``swh-lv2`` as a small set of real plugins for the tests; Debian's
``guitarix-lv2`` holds amp and overdrive simulations). Without them, making an ``"lv2"`` effect
raises a :class:`~fxlab.errors.ParameterError` that says what to install. Installed plugins are
listed by ``lv2ls``.

Knobs: every control input port with a finite range, except toggles, integers and enumerations
(those stay settable parameters). A port marked ``logarithmic`` with a positive minimum gets a log
scale. Values of ports marked ``sampleRate`` are fractions of the sample rate, as LV2 states them.
Units are not read (``lv2info`` does not print them).

Every run starts from silence: ``lv2apply`` starts each plugin afresh, and many plugins glide
their controls from an internal start value to the value set (guitarix's overdrives take about
0.2 s, its compressor's envelope more), so the first fraction of a second of every render would
be a fade the plugin never makes in use. :data:`PREROLL_SECONDS` of silence therefore go first
and are cut from the output: the output is the plugin's steady response to the signal, from
silence, and a data set rendered setting by setting has no fade at each stretch's start.
Latency is not compensated (``lv2apply`` does not report it): the plugins fxlab's ``gear``
profiles use have none (an impulse comes out at the sample it went in); a plugin that has some
gives a target that lags its input, which the data report's alignment check finds.

- :class:`Lv2Effect`       the effect
- :func:`lv2_available`    None when lilv's tools are on the PATH, else why not
- :func:`lv2_control_ports` the control input ports of a plugin, parsed from ``lv2info``
- :func:`installed_uris`   the installed plugins' URIs (``lv2ls``)
"""

from __future__ import annotations

import functools
import math
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from fxlab.effects.base import Effect, Knob
from fxlab.errors import ParameterError, UnknownNameError, problem

__all__ = ["PACKAGES", "PREROLL_SECONDS", "Lv2Effect", "installed_uris", "lv2_available", "lv2_control_ports"]

_TOOLS = ("lv2apply", "lv2info", "lv2ls")
_INSTALL = ("install lilv's tools: `apt-get install lilv-utils` (Debian/Ubuntu; plugins: "
            "`apt-get install swh-lv2 guitarix-lv2`)")
_NOT_KNOBS = ("#toggled", "#integer", "#enumeration")

#: Seconds of silence run through the plugin before the signal and cut from its output: the
#: controls' glide to their set values (guitarix: about 0.2 s) happens there (see the module text).
PREROLL_SECONDS = 1.0


def lv2_available() -> str | None:
    """None when ``lv2apply``, ``lv2info`` and ``lv2ls`` are on the PATH; else which are missing."""
    missing = [t for t in _TOOLS if shutil.which(t) is None]
    return None if not missing else f"{', '.join(missing)} not found on the PATH"


def _require_tools(who: str) -> None:
    why = lv2_available()
    if why is not None:
        raise ParameterError(problem(who, found=why, expected="lilv's command-line tools",
                                     fix=_INSTALL))


@functools.lru_cache(maxsize=1)
def installed_uris() -> tuple[str, ...]:
    """The URIs of the installed LV2 plugins (``lv2ls``; read once per process)."""
    out = subprocess.run(["lv2ls"], capture_output=True, text=True, check=False)
    return tuple(line.strip() for line in out.stdout.splitlines() if line.strip())


@functools.lru_cache(maxsize=64)
def lv2_control_ports(uri: str) -> tuple[dict[str, Any], ...]:
    """The control input ports of the plugin ``uri``, from ``lv2info``.

    Returns
    -------
    ports : tuple of dict
        ``{"symbol", "name", "min", "max", "default", "properties"}`` each (``min``/``max``/
        ``default`` are None where the plugin does not state them), in port order; plus one
        ``{"audio_in": n, "audio_out": m}`` summary as the last element.
    """
    out = subprocess.run(["lv2info", uri], capture_output=True, text=True, check=False)
    ports: list[dict[str, Any]] = []
    audio_in = audio_out = 0
    current: dict[str, Any] | None = None
    last_key = ""
    for raw in out.stdout.splitlines() + ["Port end:"]:
        line = raw.strip()
        if line.startswith("Port ") and line.endswith(":"):
            if current is not None:
                types = current.get("type", [])
                is_in = any(t.endswith("#InputPort") for t in types)
                if any(t.endswith("#AudioPort") for t in types):
                    audio_in += is_in
                    audio_out += not is_in
                elif any(t.endswith("#ControlPort") for t in types) and is_in:
                    ports.append({"symbol": current.get("symbol"), "name": current.get("name", ""),
                                  "min": current.get("minimum"), "max": current.get("maximum"),
                                  "default": current.get("default"),
                                  "properties": tuple(current.get("properties", []))})
            current, last_key = {}, ""
            continue
        if current is None or not line:
            continue
        if ":" in line and not line.startswith("http"):
            key, _, value = line.partition(":")
            key, value = key.strip().lower(), value.strip()
            last_key = key
            if key in ("type", "properties"):
                current.setdefault(key, []).append(value)
            elif key in ("minimum", "maximum", "default"):
                try:
                    current[key] = float(value)
                except ValueError:
                    current[key] = None
            else:
                current[key] = value
        elif last_key in ("type", "properties"):
            current.setdefault(last_key, []).append(line)
    return (*ports, {"audio_in": audio_in, "audio_out": audio_out})


def _knobs_of(ports: tuple[dict[str, Any], ...]) -> tuple[Knob, ...]:
    knobs = []
    for p in ports[:-1]:
        lo, hi, default = p["min"], p["max"], p["default"]
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            continue
        if any(prop.endswith(suffix) for prop in p["properties"] for suffix in _NOT_KNOBS):
            continue
        log = any(prop.endswith("#logarithmic") for prop in p["properties"]) and lo > 0
        default = lo if default is None else min(max(default, lo), hi)
        knobs.append(Knob(p["symbol"], lo, hi, default, "", "log" if log else "linear"))
    return tuple(knobs)


#: Debian packages of the plugin families fxlab's profiles and tests use, by URI prefix.
PACKAGES = {"http://guitarix.sourceforge.net/": "guitarix-lv2",
            "http://plugin.org.uk/swh-plugins/": "swh-lv2",
            "http://lsp-plug.in/": "lsp-plugins-lv2",
            "http://gareus.org/oss/lv2/": "x42-plugins"}


def _not_installed(uri: str) -> UnknownNameError:
    """The error for a plugin URI that ``lv2ls`` does not list: the closest installed URIs and
    the package to install where the URI's family is known."""
    import difflib

    close = difflib.get_close_matches(uri, installed_uris(), n=3, cutoff=0.6)
    package = next((pkg for prefix, pkg in PACKAGES.items() if uri.startswith(prefix)), None)
    fix = (f"install it (`apt-get install {package}` on Debian/Ubuntu)" if package else
           "install the plugin, or check the URI (`lv2ls` lists the installed plugins)")
    return UnknownNameError(problem(
        f"LV2 plugin {uri!r}", found=f"not installed ({len(installed_uris())} plugins are"
        + (f"; the closest: {', '.join(close)}" if close else "") + ")",
        expected="the URI of an installed LV2 plugin", fix=fix))


class Lv2Effect(Effect):
    """A mono LV2 plugin run by ``lv2apply`` (see the module text).

    Parameters
    ----------
    uri : str
        The plugin's URI (``lv2ls`` lists the installed ones).
    **controls
        Control port values by symbol; unknown symbols raise an error listing the plugin's ports,
        values outside a port's range one giving the range. ``params`` holds every control port
        (defaults filled in), so the spec pins the plugin.
    """

    name = "lv2"

    def __init__(self, *, uri: str | None = None, **controls: Any):
        _require_tools("lv2")
        if not isinstance(uri, str) or not uri:
            raise ParameterError(problem(
                "lv2", found=f"uri={uri!r}", expected="uri= the plugin's URI",
                fix='pass get_effect("lv2", uri="http://plugin.org.uk/swh-plugins/foverdrive"); '
                    "`lv2ls` lists the installed plugins"))
        if uri not in installed_uris():
            raise _not_installed(uri)
        ports = lv2_control_ports(uri)
        io = ports[-1]
        if io["audio_in"] != 1 or io["audio_out"] != 1:
            raise ParameterError(problem(
                f"lv2 {uri}", found=f"{io['audio_in']} audio inputs and {io['audio_out']} outputs",
                expected="a mono plugin (one audio input, one audio output)",
                fix="pick the plugin's mono variant (`lv2ls` lists them)"))
        self.KNOBS = _knobs_of(ports)
        by_symbol = {p["symbol"]: p for p in ports[:-1]}
        values: dict[str, float] = {}
        for symbol, p in by_symbol.items():
            d = p["default"] if p["default"] is not None else (p["min"] or 0.0)
            values[symbol] = float(d)
        knob_names = {k.name for k in self.KNOBS}
        for key, value in controls.items():
            if key not in by_symbol:
                raise ParameterError(problem(
                    f"lv2 {uri}: parameter {key!r}", found=f"{key}={value!r}",
                    expected=f"one of its control ports: {', '.join(by_symbol) or '(none)'}",
                    fix="use one of those symbols (check the spelling)"))
            if key in knob_names:
                values[key] = self.knob(key).check(value, f"lv2 {uri}")
            else:
                p = by_symbol[key]
                lo = -math.inf if p["min"] is None else p["min"]
                hi = math.inf if p["max"] is None else p["max"]
                ok = isinstance(value, int | float) and not isinstance(value, bool) \
                    and math.isfinite(float(value)) and lo <= float(value) <= hi
                if not ok:
                    raise ParameterError(problem(
                        f"lv2 {uri}: {key}={value!r}", found=repr(value),
                        expected=f"a number in [{lo:g}, {hi:g}]", fix=f"pass {key} in that range"))
                values[key] = float(value)
        super().__init__({"uri": uri, **values})

    def process(self, x: np.ndarray, sr: int | float) -> np.ndarray:
        import soundfile as sf

        _require_tools(self.describe())
        x = np.asarray(x, dtype=np.float32)
        pre = int(round(PREROLL_SECONDS * float(sr)))
        with tempfile.TemporaryDirectory(prefix="fxlab-lv2-") as tmp:
            src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
            sf.write(str(src), np.concatenate([np.zeros(pre, np.float32), x]), int(sr),
                     subtype="FLOAT")
            cmd = ["lv2apply", "-i", str(src), "-o", str(dst)]
            for key, value in self.params.items():
                if key != "uri":
                    cmd += ["-c", key, repr(float(value))]
            run = subprocess.run([*cmd, self.params["uri"]], capture_output=True, text=True,
                                 check=False)
            if run.returncode != 0 or not dst.exists():
                raise ParameterError(problem(
                    self.describe(), found=f"lv2apply failed ({run.returncode}): "
                                           f"{run.stderr.strip()[:300]}",
                    expected="the plugin to process the signal",
                    fix="check the plugin with `lv2info URI` and its control values"))
            y, _ = sf.read(str(dst), dtype="float32", always_2d=False)
        return y[pre:pre + x.shape[-1]]

    def describe(self) -> str:
        extra = ", ".join(f"{k}={v:g}" for k, v in self.params.items() if k != "uri")
        return f"lv2 {self.params['uri']}" + (f" ({extra})" if extra else "")
