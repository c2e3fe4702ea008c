"""``fxlab listen``: the listening test served to raters as a page without code (Voilà).

The browser test starts the real command (``python -m fxlab.cli listen RUN``) on a free port
against a generated run folder, opens the page in headless Chromium, checks that no code and no
traceback is shown, answers one A/B trial and a whole ABX session of 3 trials, and checks the
JSONL files; then stops the server with Ctrl-C (SIGINT to the command), starts it again,
and checks that the same rater resumes at the second A/B trial and is welcomed back in the ABX
tab. The other tests check the command's errors without a browser.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_support import CHROMIUM, _free_port, chromium, make_run_dir

from fxlab import listening
from fxlab.cli import main
from fxlab.errors import ParameterError

REPO = Path(__file__).resolve().parents[1]
RATER = "Page Rater"
ABX_N = 3
ABX_CLICKS = ["A", "B", "A"]

try:
    import voila  # noqa: F401

    HAVE_VOILA = True
except ImportError:
    HAVE_VOILA = False



# -- the command's errors, without a browser -------------------------------------------------


def test_listen_refuses_a_missing_run_folder(tmp_path, capsys):
    missing = tmp_path / "reports" / "nope"
    assert main(["listen", str(missing), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "no such folder" in err and "fxlab run" in err


def test_listen_refuses_a_run_folder_without_rendered_audio(tmp_path, capsys):
    run = make_run_dir(tmp_path / "reports" / "r1", seconds=0.5)
    for wav in (run / "rendered").glob("*/*.wav"):
        wav.unlink()
    assert main(["listen", str(run), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert str(run) in err and "no rendered audio" in err and "run the study first" in err


@pytest.mark.parametrize(("name", "value", "says"), [
    ("run_dir", "x", "give the run folder as RUN"),
    ("interactive", "False", "always interactive"),
    ("abx_trial", "3", "unknown listening parameter 'abx_trial'"),
    ("abx_trials", "0", "abx_trials"),
])
def test_listen_refuses_bad_parameters(tmp_path, capsys, name, value, says):
    run = make_run_dir(tmp_path / "reports" / "r1", seconds=0.5)
    assert main(["listen", str(run), "--no-browser", "-p", name, value]) == 2
    assert says in capsys.readouterr().err


def test_listen_without_voila_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    run = make_run_dir(tmp_path / "reports" / "r1", seconds=0.5)
    monkeypatch.setitem(sys.modules, "voila", None)  # import voila now raises ImportError
    assert main(["listen", str(run), "--no-browser"]) == 2
    assert 'pip install -e ".[listen]"' in capsys.readouterr().err


class _FakeVoila:
    """Stands for the Voilà process: listening at once, then Ctrl-C while it serves."""

    def __init__(self, cmd, env):
        self.cmd, self.env, self.returncode, self.stopped = cmd, env, None, False

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        if not self.stopped:
            raise KeyboardInterrupt
        return self.returncode

    def terminate(self):
        self.stopped, self.returncode = True, 0


def test_serve_hands_the_config_over_and_warns_when_serving_a_room(tmp_path, monkeypatch):
    from fxlab.listening import server

    run = make_run_dir(tmp_path / "reports" / "r1", seconds=0.5)
    started = []
    monkeypatch.setattr(server, "_require_voila", lambda: None)
    monkeypatch.setattr(server, "_wait_listening", lambda proc, port, timeout: True)
    monkeypatch.setattr(server.subprocess, "Popen",
                        lambda cmd, env: started.append(_FakeVoila(cmd, env)) or started[-1])
    lines: list[str] = []
    port = _free_port()
    assert server.serve(run, port=port, ip="0.0.0.0", open_browser=False,
                        overrides={"abx_trials": 4}, log=lines.append) == 0
    (proc,) = started
    assert proc.stopped  # Ctrl-C stopped Voilà
    assert "--VoilaConfiguration.show_tracebacks=False" in proc.cmd
    assert "--VoilaConfiguration.strip_sources=True" in proc.cmd
    handed = listening.page_config({}, environ=proc.env)
    assert handed.run_dir == str(run.absolute()) and handed.abx_trials == 4
    text = "\n".join(lines)
    assert "anyone who can reach this machine can open the page and rate" in text
    assert f":{port}/" in text and text.endswith("fxlab listen: stopped")
    # on 127.0.0.1 (the default) there is no warning
    lines.clear()
    started.clear()
    assert server.serve(run, port=port, open_browser=False, log=lines.append) == 0
    assert f"http://127.0.0.1:{port}/" in "\n".join(lines) and "anyone" not in "\n".join(lines)


def test_page_config_reads_what_the_command_sets(tmp_path):
    run = make_run_dir(tmp_path / "reports" / "r1", seconds=0.5)
    config = listening.listen_config(run, {"abx_trials": 5, "ratings_path": "r.jsonl"})
    env = listening.page_environment(config)
    got = listening.page_config({"run_dir": "elsewhere", "abx_trials": 16, "seed": 3},
                                environ=env)
    assert got == config and got.interactive and got.abx_trials == 5
    assert Path(got.ratings_path).is_absolute()
    # without the variable (the notebook opened by hand) its own parameters count
    assert listening.page_config({"run_dir": "r", "seed": 3}, environ={}).seed == 3
    with pytest.raises(ParameterError, match="FXLAB_LISTEN"):
        listening.page_config({}, environ={"FXLAB_LISTEN": "[1]"})


def test_page_notebook_is_thin_and_committed_without_outputs():
    nb = json.loads(listening.PAGE_NOTEBOOK.read_text())
    code = [("".join(c["source"]), c) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for _s, c in code)
    assert not any(line.lstrip().startswith(("def ", "class ")) for s, _c in code
                   for line in s.splitlines())


# -- the page in a browser ---------------------------------------------------------------------


class _Server:
    """``python -m fxlab.cli listen`` in its own process group, as typed in a terminal."""

    def __init__(self, run: Path, port: int, log: Path):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fxlab.cli", "listen", str(run), "--port", str(port),
             "--no-browser", "-p", "abx_trials", str(ABX_N)],
            cwd=run.parent, env=env, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while f"give raters this address: {self.url}" not in log.read_text():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

    def stop(self) -> int:
        """Ctrl-C: SIGINT to the command; returns its exit status (then nothing of it is left)."""
        if self.proc.poll() is None:
            # Ctrl-C to the command itself, which stops Voilà (SIGTERM, then SIGKILL after 20 s).
            # (To the whole group, as a terminal sends it, Voilà and its kernels get it too: under
            # the parallel suite the command then twice failed to exit within 90 s; not yet
            # understood, and not seen when the command alone is signalled.)
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError):  # nothing of the server's left behind
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._out.close()
        return self.proc.returncode


def _wait_text(page, css_class: str, text: str) -> None:
    page.wait_for_function(
        "([c, s]) => { const e = [...document.querySelectorAll(c)].pop();"
        " return e && e.innerText.includes(s); }", arg=[css_class, text], timeout=20_000)


def _open(page, url: str) -> None:
    page.goto(url)
    page.locator(".fxlab-rater input").wait_for(timeout=60_000)


def _no_code_shown(page) -> None:
    body = page.locator("body").inner_text()
    for code in ("page_config", "prepare_trials", "rater_page", "import"):
        assert code not in body, f"code shown on the page: {code}"
    for sign in ("Traceback", "Error", "error when executing"):
        assert sign not in body, f"an error on the page: {sign}"
    cells = page.locator(".jp-CodeCell")
    assert cells.count() >= 4  # the notebook's code cells are there, each without its input
    assert page.locator(".jp-CodeCell:not(.jp-mod-noInput)").count() == 0
    assert page.locator(".jp-CodeCell .jp-InputArea, .jp-CodeMirrorEditor, .cm-editor, "
                        ".jp-InputPrompt").count() == 0
    assert "Listening test" in body and "same name" in body  # the raters' instructions


def _tab(page, title: str) -> None:
    page.locator(".fxlab-page .lm-TabBar-tab", has_text=title).click()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not HAVE_VOILA and not os.environ.get("CI"),
                    reason='Voilà is not installed (pip install -e ".[listen]")')
@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                    reason=f"{CHROMIUM} is not installed (apt-get install chromium)")
def test_raters_page_served_by_fxlab_listen(tmp_path):
    run = make_run_dir(tmp_path / "reports" / "r1", seconds=1.5)
    ratings = tmp_path / "reports" / "listening" / "ratings.jsonl"
    answers = tmp_path / "reports" / "listening" / "abx.jsonl"
    port = _free_port()

    server = _Server(run, port, tmp_path / "listen1.log")
    try:
        trial_set = listening.load_trials(run)  # prepared by the command before serving
        abx = listening.load_abx(run)
        n = len(trial_set.trials)
        assert abx.n_trials == ABX_N
        with chromium() as page:
            _open(page, server.url)
            _no_code_shown(page)
            # one A/B trial
            page.locator(".fxlab-rater input").fill(RATER)
            page.locator(".fxlab-start").click()
            _wait_text(page, ".fxlab-progress", f"trial 1 of {n}")
            assert page.locator(".fxlab-audio-a").get_attribute("src").startswith("blob:")
            page.locator(".fxlab-answer-3").click()
            _wait_text(page, ".fxlab-status", "Saved: trial 1, answer 3")
            _wait_text(page, ".fxlab-progress", f"trial 2 of {n}")
            # a whole ABX session
            _tab(page, "ABX")
            page.locator(".fxlab-abx-rater input").fill(RATER)
            page.locator(".fxlab-abx-start").click()
            for i, choice in enumerate(ABX_CLICKS):
                _wait_text(page, ".fxlab-abx-progress", f"trial {i + 1} of {ABX_N}")
                page.locator(f".fxlab-abx-answer-{choice.lower()}").click()
                _wait_text(page, ".fxlab-abx-status", f"Saved: trial {i + 1}, X is {choice}")
            _wait_text(page, ".fxlab-abx-summary", "Session complete")
            _no_code_shown(page)
    finally:
        assert server.stop() == 0, server.log.read_text()
    assert "fxlab listen: stopped" in server.log.read_text()

    rated = [json.loads(line) for line in ratings.read_text().splitlines()]
    first = listening.rater_order(trial_set, RATER, seed=0)[0]
    assert [(r["rater"], r["session"], r["trial"], r["side"], r["answer"]) for r in rated] == [
        (RATER, trial_set.session, first[0], first[1], 3)]
    said = [json.loads(line) for line in answers.read_text().splitlines()]
    xs = listening.abx_order(abx, RATER, seed=0)
    assert [(r["rater"], r["session"], r["trial"], r["n_trials"], r["x"], r["answer"])
            for r in said] == [(RATER, abx.session, i + 1, ABX_N, xs[i], c)
                               for i, c in enumerate(ABX_CLICKS)]

    # a new server, the same name: the rater resumes; nothing is appended by reopening
    server = _Server(run, port, tmp_path / "listen2.log")
    try:
        with chromium() as page:
            _open(page, server.url)
            page.locator(".fxlab-rater input").fill(RATER)
            page.locator(".fxlab-start").click()
            _wait_text(page, ".fxlab-status", "Resuming")
            _wait_text(page, ".fxlab-progress", f"trial 2 of {n}")
            assert "1 answered before" in page.locator(".fxlab-status").inner_text()
            _tab(page, "ABX")
            page.locator(".fxlab-abx-rater input").fill(RATER)
            page.locator(".fxlab-abx-start").click()
            _wait_text(page, ".fxlab-abx-status", "Welcome back")
            _wait_text(page, ".fxlab-abx-summary", "Session complete")
    finally:
        assert server.stop() == 0, server.log.read_text()
    assert len(ratings.read_text().splitlines()) == 1
    assert len(answers.read_text().splitlines()) == ABX_N
