"""Test helper: play a ``.nam`` file in Neural Amp Modeler's C++ core, and a numpy model of that core.

NAM's C++ core (NeuralAmpModelerCore), which the guitarists' plugins run, is on npm compiled to
WebAssembly (``@opendaw/nam-wasm``, pinned in ``tests/nam_wasm/package.json``; ``npm ci --prefix
tests/nam_wasm`` installs it, ``.ci/run`` does). :func:`render` runs ``tests/nam_wasm/render.mjs``
in Node: 128-sample blocks at the file's sample rate, as a browser's AudioWorklet would.

Two things the core does that fxlab's network does not, and :func:`play_like_nam_core` copies:

- **fast activations.** The engine switches on NAM's ``enable_fast_tanh()`` when it loads a model
  (NAM's plugin does the same in its constructor), with no way to switch it off; the core's LSTM
  then uses a rational approximation of tanh (slope 1.0043 at 0, tending to 1.008) and a sigmoid
  made of it, ``0.5 (fast_tanh(x / 2) + 1)`` (tending to 1.004 and -0.004).
- **prewarm.** Loading a model feeds it silence (NAM's ``prewarm()``), so the recurrent state
  starts settled on silence instead of at the file's initial state (zeros in fxlab's files). How
  long does not matter for fxlab's LSTMs: their state settles within 128 samples of silence.

- :data:`NAM_WASM`            the Node project folder
- :func:`engine_missing`      why the engine cannot run here (None when it can)
- :func:`render`              a signal through the engine
- :func:`play_like_nam_core`  the core's LSTM in numpy (float32), fast activations or exact
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

__all__ = ["NAM_FAST_TANH_TOL", "NAM_PREWARM", "NAM_PREWARM_MODEL", "NAM_WASM", "engine_missing",
           "play_like_nam_core", "render"]

NAM_WASM = Path(__file__).parent / "nam_wasm"
_PACKAGE = NAM_WASM / "node_modules" / "@opendaw" / "nam-wasm" / "dist" / "nam.wasm"
_F32 = np.float32

#: Silence before the signal, for fxlab's output (and the numpy model of NAM's core) to start where
#: NAM's core does after its prewarm: settled on silence (128 samples already give the same output).
NAM_PREWARM = 22050
NAM_PREWARM_MODEL = 1024
#: How far NAM's C++ core may stray from fxlab's output (fast activations; see test_export.py).
NAM_FAST_TANH_TOL = 0.04


def engine_missing() -> str | None:
    """Why :func:`render` cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return "needs Node.js (`node` on PATH) to run NAM's core compiled to WebAssembly"
    if not _PACKAGE.exists():
        return f"needs the npm package @opendaw/nam-wasm: npm ci --prefix {NAM_WASM}"
    return None


def render(nam_path, x: np.ndarray, tmp: Path) -> np.ndarray:
    """``x`` [shape=(n,)] played by NAM's C++ core through the ``.nam`` at ``nam_path`` (float32)."""
    src, out = tmp / "nam_in.f32", tmp / "nam_out.f32"
    np.asarray(x, _F32).tofile(src)
    run = subprocess.run(["node", str(NAM_WASM / "render.mjs"), str(nam_path), str(src), str(out)],
                         capture_output=True, text=True, timeout=120)
    if run.returncode:
        raise RuntimeError(f"NAM's core did not play {nam_path}: {run.stderr.strip()}")
    return np.fromfile(out, _F32)


def _fast_tanh(x):
    """NAM's ``activations::fast_tanh`` (float32, the same operations in the same order)."""
    ax, x2 = np.abs(x), x * x
    num = x * (_F32(2.45550750702956) + _F32(2.45550750702956) * ax
               + (_F32(0.893229853513558) + _F32(0.821226666969744) * ax) * x2)
    return num / (_F32(2.44506634652299)
                  + (_F32(2.44506634652299) + x2) * np.abs(x + _F32(0.814642734961073) * x * ax))


def _fast_sigmoid(x):
    return _F32(0.5) * (_fast_tanh(x * _F32(0.5)) + _F32(1))


def _sigmoid(x):
    return _F32(1) / (_F32(1) + np.exp(-x))


def play_like_nam_core(doc: dict, x: np.ndarray, *, fast: bool, prewarm: int) -> np.ndarray:
    """A ``.nam`` LSTM document run as NAM's core runs it (``nam::lstm``), in float32.

    Parameters
    ----------
    doc : dict
        A ``.nam`` document of architecture ``LSTM``.
    x : np.ndarray [shape=(n,)]
        The audio.
    fast : bool
        NAM's fast tanh and sigmoid (its players), or exact ones (NAM's PyTorch loader).
    prewarm : int >= 0
        Samples of silence played first and dropped (the engine's prewarm).

    Returns
    -------
    np.ndarray [shape=(n,)], float32
    """
    tanh, sigmoid = (_fast_tanh, _fast_sigmoid) if fast else (np.tanh, _sigmoid)
    cfg, w = doc["config"], np.asarray(doc["weights"], _F32)
    h_size, k, layers = cfg["hidden_size"], 0, []
    for i in range(cfg["num_layers"]):  # per layer: [4H, I + H] row-major, bias, initial h, c
        n = 4 * h_size * ((cfg["input_size"] if i == 0 else h_size) + h_size)
        layers.append([w[k:k + n].reshape(4 * h_size, -1), w[k + n:k + n + 4 * h_size],
                       w[k + n + 4 * h_size:k + n + 5 * h_size].copy(),
                       w[k + n + 5 * h_size:k + n + 6 * h_size].copy()])
        k += n + 6 * h_size
    head_w, head_b = w[k:k + h_size], w[k + h_size]
    assert k + h_size + 1 == len(w), "weights left over or missing"
    xs = np.concatenate([np.zeros(prewarm, _F32), np.asarray(x, _F32)])
    y = np.empty(len(xs), _F32)
    for t, v in enumerate(xs):
        inp = np.array([v], _F32)
        for layer in layers:
            mat, b, h, c = layer
            i, f, g, o = np.split(mat @ np.concatenate([inp, h]) + b, 4)
            c = sigmoid(f) * c + sigmoid(i) * tanh(g)
            layer[2] = inp = sigmoid(o) * tanh(c)
            layer[3] = c
        y[t] = head_w @ inp + head_b
    return y[prewarm:]
