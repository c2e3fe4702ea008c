"""Helpers for the listening tests: a generated run folder, and JupyterLab + headless Chromium.

- :func:`make_run_dir` writes a small run folder as the earlier steps would: ``data/<split>/dry.wav``
  and ``wet.wav`` (the study's first-order 440 Hz Butterworth high-pass) and
  ``rendered/<model>/<split>.wav`` for made-up "models" whose outputs differ from the target in
  known ways.
- :func:`jupyterlab` starts JupyterLab on 127.0.0.1 with a token on a free port in a root folder and
  stops it afterwards; :func:`chromium` launches Debian's Chromium through Playwright.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from scipy.signal import butter, lfilter

from fxlab.audio import write_wav

SR = 44100
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

__all__ = ["SR", "CHROMIUM", "CHROMIUM_ARGS", "make_run_dir", "jupyterlab", "chromium"]


def _write(path: Path, x: np.ndarray) -> None:
    write_wav(path, np.asarray(x, dtype=np.float32), SR)


def listening_config(run, **changes):
    """Notebook 04's config for run folder ``run``, as papermill runs it (not interactive)."""
    from fxlab.listening import ListeningConfig

    return ListeningConfig(run_dir=str(run), interactive=False, **changes)


def make_run_dir(run_dir: Path, *, seconds: float = 1.5, models=("gru", "lstm"), seed: int = 0) -> Path:
    """Write a run folder with val1/val2 data and rendered outputs; return ``run_dir``.

    val1 is white noise then a rising sweep, val2 a voiced buzz with a vibrato (speech-like
    harmonics). The target is the 440 Hz first-order high-pass of the input. Model ``k`` outputs
    the target plus ``0.3 * (k + 1)`` of the low band the filter removed, so its output differs
    from the target more as ``k`` grows.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    half = n // 2
    val1 = np.concatenate([
        0.3 * rng.uniform(-1, 1, half),
        0.4 * np.sin(2 * np.pi * (100 * t[: n - half] + 2000 * t[: n - half] ** 2)),
    ])
    f0 = 140 * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    val2 = sum(0.25 / k * np.sin(k * phase) for k in range(1, 12)) * (0.6 + 0.4 * np.sin(np.pi * t / seconds))
    b, a = butter(1, 440, "highpass", fs=SR)
    for split, dry in (("val1", val1), ("val2", val2)):
        wet = lfilter(b, a, dry)
        _write(run_dir / "data" / split / "dry.wav", dry)
        _write(run_dir / "data" / split / "wet.wav", wet)
        for k, m in enumerate(models):
            _write(run_dir / "rendered" / m / f"{split}.wav", wet + 0.3 * (k + 1) * (dry - wet))
    return run_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root: Path, *, timeout: float = 60.0):
    """Run JupyterLab in ``root`` on 127.0.0.1; yields ``(base_url, token)``; stops it at the end.

    Settings, workspaces and runtime files go to a temporary folder, so the user's own JupyterLab
    state is neither read nor changed; news and update checks are off (no network).
    """
    token = secrets.token_hex(16)
    port = _free_port()
    state = Path(tempfile.mkdtemp(prefix="fxlab-jlab-"))
    settings = state / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    # Render every cell (no virtual scrolling), so the widget is in the page wherever it is.
    notebook = state / "settings" / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True)
    (notebook / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    env = dict(os.environ)
    env.update({
        "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTER_DATA_DIR": str(state / "data"),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONUNBUFFERED": "1",
    })
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--ServerApp.open_browser=False", "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # CI containers run as root
    log = open(state / "jupyterlab.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        args,
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("JupyterLab exited:\n" + (state / "jupyterlab.log").read_text())
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not start:\n"
                                   + (state / "jupyterlab.log").read_text())
            time.sleep(0.3)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(state, ignore_errors=True)


@contextlib.contextmanager
def chromium(*, width: int = 1280, height: int = 900):
    """A Playwright page in headless Debian Chromium with a fresh profile; closed at the end."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="fxlab-chromium-")
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": width, "height": height},
            )
            try:
                yield ctx.pages[0] if ctx.pages else ctx.new_page()
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
