"""Serving the raters' page: what ``fxlab listen`` does.

- :func:`check_run`      the run folder exists and holds rendered audio, else an error naming it
- :func:`listen_config`  the page's checked :class:`~fxlab.listening.config.ListeningConfig`
- :func:`voila_command`  the Voilà command line (code hidden, tracebacks hidden)
- :func:`serve`          prepare the trials, start Voilà, print the address, stop on Ctrl-C

Raters open one address and see the instructions and the two tests (:mod:`fxlab.listening.page`);
no code and no traceback is shown (Voilà's ``strip_sources`` and ``show_tracebacks=False``). Each
page is its own kernel; answers are appended to the same files the notebook uses
(``reports/listening/ratings.jsonl`` and ``abx.jsonl``), so they appear in the next report, and a
rater who comes back with the same name, even after the server was restarted, resumes.

Voilà is optional: the ``listen`` extra, ``pip install -e ".[listen]"``.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fxlab.errors import AudioFileError, ParameterError, problem, unknown_name
from fxlab.listening.abx import prepare_abx
from fxlab.listening.config import ListeningConfig
from fxlab.listening.page import PAGE_NOTEBOOK, page_environment
from fxlab.listening.rendered import rendered_models
from fxlab.listening.trials import prepare_trials
from fxlab.util import require_extra

__all__ = ["DEFAULT_PORT", "check_run", "listen_config", "serve", "voila_command"]

#: Voilà's own default port.
DEFAULT_PORT = 8866
_RUN_FIRST = "run the study first (fxlab run --profile quick), or pass the run folder it made"


def check_run(run_dir: str | os.PathLike) -> Path:
    """The run folder, absolute, once it is known to hold rendered audio.

    Parameters
    ----------
    run_dir : path
        A run folder (``reports/<run-id>``, or the ``reports/latest`` link).

    Returns
    -------
    Path
        ``run_dir`` made absolute (a ``latest`` link is kept as it is, not resolved).

    Raises
    ------
    AudioFileError
        The folder does not exist, or no model has ``rendered/<model>/<split>.wav``.
    """
    run = Path(run_dir).absolute()
    if not run.is_dir():
        raise AudioFileError(problem(
            run, found="no such folder", expected="a run folder (reports/<run-id>) with rendered "
            "audio", fix=_RUN_FIRST))
    if not rendered_models(run, splits=("val1",)) and not rendered_models(run, splits=("val2",)):
        raise AudioFileError(problem(
            run, found="no rendered audio (no rendered/<model>/<split>.wav)",
            expected="a run folder whose evaluation step rendered the models' outputs",
            fix=_RUN_FIRST + " (steps 01 to 03 render the audio)"))
    return run


def listen_config(run_dir: str | os.PathLike, overrides: Mapping[str, Any] | None = None
                  ) -> ListeningConfig:
    """The page's configuration for ``run_dir``, with ``overrides`` of its other parameters.

    Parameters
    ----------
    run_dir : path
        Checked by :func:`check_run`.
    overrides : mapping, optional
        :class:`ListeningConfig` fields other than ``run_dir`` and ``interactive``, e.g.
        ``{"abx_trials": 10}``. A ratings or ABX file given relative is made absolute.

    Returns
    -------
    ListeningConfig
        ``interactive=True``, with absolute paths (Voilà's kernels start in another folder).
    """
    run = check_run(run_dir)
    values = dict(overrides or {})
    fields = [f.name for f in dataclasses.fields(ListeningConfig)
              if f.init and f.name not in ("run_dir", "interactive")]
    for name in values:
        if name in ("run_dir", "interactive"):
            raise ParameterError(problem(
                f"-p {name}", found="a parameter the command sets itself",
                expected="one of " + ", ".join(fields),
                fix="give the run folder as RUN (fxlab listen RUN)" if name == "run_dir"
                else "leave it out: the page is always interactive"))
        if name not in fields:
            raise unknown_name("listening parameter", name, fields)
    for name in ("ratings_path", "abx_path"):
        if isinstance(values.get(name), str) and values[name]:
            values[name] = str(Path(values[name]).absolute())
    return ListeningConfig(run_dir=str(run), interactive=True, **values)


def voila_command(*, port: int, ip: str) -> list[str]:
    """The Voilà command serving :data:`~fxlab.listening.page.PAGE_NOTEBOOK` on ``ip:port``.

    Code cells are hidden (``strip_sources``), tracebacks too (``show_tracebacks=False``: a
    failing cell shows a short notice, the terminal gets the details), no other port is tried,
    no token is asked for, no browser is opened by Voilà itself.
    """
    return [
        sys.executable, "-m", "voila", str(PAGE_NOTEBOOK), f"--port={port}", f"--Voila.ip={ip}",
        "--no-browser", "--Voila.port_retries=0", "--Voila.log_level=ERROR",
        "--VoilaConfiguration.strip_sources=True", "--VoilaConfiguration.show_tracebacks=False",
        "--theme=light",
    ]


def _require_voila() -> None:
    require_extra("fxlab listen", ("voila",), "listen", "Voilà")


def _check_port(ip: str, port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind((ip, port))
        except OSError as e:
            used = e.errno == errno.EADDRINUSE
            raise ParameterError(problem(
                f"--port {port}", found="a port in use" if used else f"cannot listen there ({e})",
                expected="a free port", fix="choose another, e.g. --port 8870")) from e


def _wait_listening(proc: subprocess.Popen, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # Voilà stops its loop on SIGTERM and shuts its kernels down
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def serve(run_dir: str | os.PathLike = "reports/latest", *, port: int = DEFAULT_PORT,
          ip: str = "127.0.0.1", open_browser: bool = True,
          overrides: Mapping[str, Any] | None = None,
          log: Callable[[str], None] = print, start_timeout: float = 60.0) -> int:
    """Serve the raters' page for ``run_dir`` until Ctrl-C (or SIGTERM); returns an exit status.

    The trials (:func:`~fxlab.listening.prepare_trials`) and the ABX clips
    (:func:`~fxlab.listening.prepare_abx`) are prepared first, so a problem with the run shows
    here rather than on the raters' page, and each page reuses them. Then Voilà
    (:func:`voila_command`) runs with the configuration in ``FXLAB_LISTEN``
    (:func:`~fxlab.listening.page.page_environment`), and the address to give raters is printed.

    Parameters
    ----------
    run_dir : path
        The run folder (default ``reports/latest``, the newest run).
    port : int
        The port (default 8866, Voilà's); a port in use is an error.
    ip : str
        The address to listen on: ``127.0.0.1`` (this machine only, the default) or ``0.0.0.0``
        (every interface: anyone on the network can open the page and rate).
    open_browser : bool
        Open the page in this machine's browser once it is served.
    overrides : mapping, optional
        Other parameters of the page (see :func:`listen_config`), e.g. ``{"abx_trials": 10}``.
    log : callable
        Where the messages go (one line each).
    start_timeout : float
        Seconds to wait for Voilà to listen.

    Returns
    -------
    int
        0 when stopped with Ctrl-C or SIGTERM, 1 when Voilà could not start or stopped by itself.
    """
    config = listen_config(run_dir, overrides)
    _require_voila()
    trial_set = prepare_trials(config)
    abx = prepare_abx(config)
    _check_port(ip, port)
    env = {**os.environ, **page_environment(config)}
    host = socket.gethostname() if ip in ("", "0.0.0.0", "::") else ip
    url = f"http://{host}:{port}/"

    def _terminate(_sig, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C stops the server even where SIGINT came in ignored (a job started in the background
    # of a script, some test runners' workers): Python then leaves it ignored
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    proc = subprocess.Popen(voila_command(port=port, ip=ip), env=env)
    try:
        if not _wait_listening(proc, port, start_timeout):
            _stop(proc)
            log(f"fxlab listen: Voilà did not start (exit status {proc.returncode}); "
                "its messages are above")
            return 1
        log(f"fxlab listen: serving the listening test of {config.run_folder}: "
            f"{len(trial_set.trials)} A/B trials; ABX on model {abx.model} ({abx.clip}), "
            f"{abx.n_trials} trials")
        log(f"fxlab listen: answers go to {config.ratings_file} and {config.abx_file}")
        if ip in ("", "0.0.0.0", "::"):
            log("fxlab listen: warning: serving on every network interface: anyone who can "
                "reach this machine can open the page and rate")
        log(f"fxlab listen: give raters this address: {url}")
        log("fxlab listen: press Ctrl-C to stop; a rater who comes back with the same name "
            "resumes where they stopped")
        if open_browser:
            webbrowser.open(url)
        rc = proc.wait()
        log(f"fxlab listen: Voilà stopped by itself (exit status {rc})")
        return 1
    except KeyboardInterrupt:
        _stop(proc)
        log("fxlab listen: stopped")
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
