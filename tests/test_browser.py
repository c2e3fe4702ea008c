"""The listening test in a real browser: JupyterLab + headless Chromium, driven by Playwright.

Starts JupyterLab on 127.0.0.1 (token, free port) in a temporary root holding a copy of
``notebooks/04_listening_test.ipynb`` and a generated run folder (``reports/lab``), runs the
notebook, types a rater name, plays A and B and rates trials by clicking, then checks the ratings
file: exactly those answers, each mapped to the model whose audio really played on its side. It
then restarts the kernel, reruns the notebook, and checks that the rater resumes at the next trial.
The screenshot goes to ``reports/screenshots/listening_widget.png``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from browser_support import CHROMIUM, chromium, jupyterlab, make_run_dir
from knob_support import add_conditioned_run

from fxlab import listening

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_listening_test.ipynb"
SCREENSHOT = REPO / "reports" / "screenshots" / "listening_widget.png"
RATER = "Test Rater"
CLICKS = [3, 1, 4]  # answers given to the first three trials

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # Skipped on a developer machine without Chromium; in CI (.ci/run installs it) it must run.
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"),
                       reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
]

_HASH_JS = """async (sel) => {
  const els = document.querySelectorAll(sel);
  const el = els[els.length - 1];
  const buf = await (await fetch(el.src)).arrayBuffer();
  const d = await crypto.subtle.digest('SHA-256', buf);
  return Array.from(new Uint8Array(d)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""


def _run_all(page, *, restart: bool) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel" if restart else "Run").first.click()
    label = "Restart Kernel and Run All Cells…" if restart else "Run All Cells"
    page.locator(".lm-Menu-itemLabel", has_text=label).first.click()
    if restart:
        page.locator(".jp-Dialog-button.jp-mod-accept").click()


def _open_notebook(page, base: str, token: str) -> None:
    page.goto(f"{base}/lab/tree/notebooks/04_listening_test.ipynb?token={token}")
    _wait_idle(page)


def _wait_idle(page) -> None:
    """Wait until the notebook is shown and its kernel is connected and idle."""
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
        ".some(e => /ipykernel\\) \\| Idle/.test(e.innerText))", timeout=60_000)


def _play(page, side: str) -> None:
    """Click the play control of player ``side`` and wait until it has started playing."""
    audio = page.locator(f".fxlab-audio-{side}").last
    # JupyterLab renders only the cells near the viewport: bring the player into view first
    audio.scroll_into_view_if_needed(timeout=15_000)
    audio.wait_for(state="visible", timeout=15_000)
    box = audio.bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + box["height"] / 2)  # the play button, left end
    page.wait_for_function(
        "(sel) => { const e = [...document.querySelectorAll(sel)].pop();"
        " return e && (!e.paused || e.currentTime > 0); }",
        arg=f".fxlab-audio-{side}", timeout=10_000,
    )


def _wait_text(page, css_class: str, text: str) -> None:
    """Wait until the newest element of ``css_class`` shows ``text``."""
    page.wait_for_function(
        "([c, s]) => { const e = [...document.querySelectorAll(c)].pop();"
        " return e && e.innerText.includes(s); }", arg=[css_class, text], timeout=15_000)


def test_listening_widget_in_jupyterlab(tmp_path):
    root = tmp_path / "lab"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, root / "notebooks" / NOTEBOOK.name)
    run_dir = make_run_dir(root / "reports" / "lab", seconds=1.5)
    ratings = root / "reports" / "listening" / "ratings.jsonl"

    with jupyterlab(root) as (base, token), chromium() as page:
        _open_notebook(page, base, token)
        _run_all(page, restart=False)
        page.locator(".fxlab-rater input").last.wait_for(timeout=60_000)
        trial_set = listening.load_trials(run_dir)  # written by the notebook's kernel
        n = len(trial_set.trials)
        files = {rel: hashlib.sha256((trial_set.root / rel).read_bytes()).hexdigest()
                 for t in trial_set.trials for rel in (t.reference, t.candidate)}

        page.locator(".fxlab-rater input").last.fill(RATER)
        page.locator(".fxlab-start").last.click()
        heard = []
        for i, answer in enumerate(CLICKS):
            _wait_text(page, ".fxlab-progress", f"trial {i + 1} of {n}")
            _play(page, "a")
            _play(page, "b")
            heard.append({s: page.evaluate(_HASH_JS, f".fxlab-audio-{s}") for s in "ab"})
            page.locator(f".fxlab-answer-{answer}").last.click()
            _wait_text(page, ".fxlab-status", f"Saved: trial {i + 1}, answer {answer}")
        _wait_text(page, ".fxlab-progress", f"trial {len(CLICKS) + 1} of {n}")

        # The file holds exactly the clicked answers, each tied to the audio that really played.
        records = [json.loads(line) for line in ratings.read_text().splitlines()]
        assert [r["answer"] for r in records] == CLICKS
        assert [r["position"] for r in records] == [1, 2, 3]
        expected = listening.rater_order(trial_set, RATER, seed=0)[: len(CLICKS)]
        assert [(r["trial"], r["side"]) for r in records] == expected
        for rec, sides in zip(records, heard, strict=True):
            trial = trial_set.trial(rec["trial"])
            assert (rec["model"], rec["clip"]) == (trial.model, trial.clip)
            cand, ref = ("a", "b") if rec["side"] == "A" else ("b", "a")
            assert sides[cand] == files[trial.candidate]
            assert sides[ref] == files[trial.reference]
            assert rec["rater"] == RATER and rec["session"] == trial_set.session
        assert {r["model"] for r in records} <= {"gru", "lstm", *listening.CONTROLS}

        # Reload the page, restart the kernel, rerun: the rater resumes at trial 4.
        page.reload()
        _wait_idle(page)
        _run_all(page, restart=True)
        page.wait_for_function(
            "() => { const e = [...document.querySelectorAll('.fxlab-rater input')].pop();"
            " return e && e.value === '' && e.offsetParent !== null; }", timeout=60_000)
        page.locator(".fxlab-rater input").last.fill(RATER)
        page.locator(".fxlab-start").last.click()
        _wait_text(page, ".fxlab-status", "Resuming")
        _wait_text(page, ".fxlab-progress", f"trial {len(CLICKS) + 1} of {n}")
        assert "3 answered before" in page.locator(".fxlab-status").last.inner_text()
        # nothing was appended by reopening
        assert len(ratings.read_text().splitlines()) == len(CLICKS)

        page.locator(".fxlab-listening").last.scroll_into_view_if_needed()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def test_knob_audition_in_jupyterlab(tmp_path):
    """Notebook 04 on a run with a knob-conditioned model: the audition's slider moved in the page
    renders that setting (the readout says so) and the three players hold audio."""
    root = tmp_path / "lab"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(NOTEBOOK, root / "notebooks" / NOTEBOOK.name)
    add_conditioned_run(make_run_dir(root / "reports" / "lab", seconds=1.0))
    shot = tmp_path / "screenshots" / "knob_audition.png"

    with jupyterlab(root) as (base, token), chromium() as page:
        _open_notebook(page, base, token)
        _run_all(page, restart=False)
        slider = page.locator(".fxlab-knob-gain_db").last
        slider.wait_for(timeout=120_000)
        _wait_text(page, ".fxlab-audition-esr", "gain_db=20 dB")
        assert "held out for validation" in page.locator(".fxlab-audition-esr").last.inner_text()
        # type a value into the slider's readout, as a listener can, and press Enter
        readout = slider.locator(".widget-readout")
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("30")
        page.keyboard.press("Enter")
        _wait_text(page, ".fxlab-audition-esr", "gain_db=30 dB")
        assert "seen in training" in page.locator(".fxlab-audition-esr").last.inner_text()
        for v in ("effect", "model", "dry"):
            src = page.locator(f".fxlab-audition-{v}").last.get_attribute("src")
            assert src and src.startswith("blob:")
        page.locator(".fxlab-audition").last.scroll_into_view_if_needed()
        shot.parent.mkdir(parents=True)
        page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
