"""The ABX widget (ipywidgets), shown in JupyterLab.

- :class:`AbxWidget`   name, start, players A, B and X, "X is A" / "X is B", progress "trial k of
  N", and at the end the rater's score and verdict; it resumes a rater from the answers file
- :func:`abx_widget`   the widget when someone is at the keyboard, a note otherwise
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

from fxlab.errors import ParameterError
from fxlab.listening.abx import AbxSession, abx_order
from fxlab.listening.abx_stats import abx_verdict
from fxlab.listening.store import AbxStore
from fxlab.listening.trials import normalize_rater

if TYPE_CHECKING:
    from fxlab.listening.config import ListeningConfig

__all__ = ["AbxWidget", "abx_widget"]


class AbxWidget:
    """The ABX widget (ipywidgets) for one :class:`~fxlab.listening.abx.AbxSession`.

    A rater types a name (CSS class ``fxlab-abx-rater``) and presses Start (``fxlab-abx-start``).
    Each trial shows players A, B and X (``fxlab-abx-audio-a``, ``-b``, ``-x``), the progress
    "trial 3 of 16" (``fxlab-abx-progress``) and two answers, "X is A" and "X is B"
    (``fxlab-abx-answer-a``, ``fxlab-abx-answer-b``). Clicking one saves it at once
    (:class:`~fxlab.listening.store.AbxStore`, with N and what X was) and moves to the next trial;
    there is no going back and no feedback until all N are answered, when the summary
    (``fxlab-abx-summary``) gives the score, its p-value and the verdict. Starting again with
    the same name resumes at the first unanswered trial, from the answers file.

    Parameters
    ----------
    session : AbxSession
    answers_path : path
        The shared JSONL file of ABX answers.
    seed : int
        Session seed: with the rater's name it fixes what X is in each trial.
    """

    def __init__(self, session: AbxSession, *, answers_path: str | os.PathLike, seed: int):
        import ipywidgets as w

        self.session = session
        self.store = AbxStore(answers_path)
        self.seed = seed
        self.rater: str | None = None
        self.order: list[str] = []
        self.answers: dict[int, dict] = {}  # trial (1-based) -> its first record
        self.position = 0  # 0-based index of the trial shown
        self.finished = False

        def cls(widget, name):
            widget.add_class(name)
            return widget

        def player(name):
            return cls(w.Audio(value=b"", format="wav", autoplay=False, controls=True, loop=False),
                       name)

        self.title = w.HTML(
            f"<b>ABX test.</b> {session.n_trials} trials. In each, A and B are two versions of "
            "the same clip (the target and a network's output) and X is one of them, chosen at "
            "random. Listen to all three as often as you like, then say which one X is. Use "
            "headphones. Your answers are saved as you click; the score is shown at the end.")
        self.name = cls(w.Text(placeholder="your name", description="Rater:"), "fxlab-abx-rater")
        self.start = cls(w.Button(description="Start", button_style="primary",
                                  tooltip="start or resume your ABX session"), "fxlab-abx-start")
        self.progress = cls(w.HTML(""), "fxlab-abx-progress")
        self.audio_a = player("fxlab-abx-audio-a")
        self.audio_b = player("fxlab-abx-audio-b")
        self.audio_x = player("fxlab-abx-audio-x")
        self.answer_a = cls(w.Button(description="X is A", tooltip="X sounds like A"),
                            "fxlab-abx-answer-a")
        self.answer_b = cls(w.Button(description="X is B", tooltip="X sounds like B"),
                            "fxlab-abx-answer-b")
        self.status = cls(w.HTML(""), "fxlab-abx-status")
        self.summary = cls(w.HTML(""), "fxlab-abx-summary")
        self.audio_a.value = session.path("A").read_bytes()
        self.audio_b.value = session.path("B").read_bytes()
        self._x = {s: session.path(f"X_{s}").read_bytes() for s in ("A", "B")}
        players = w.HBox([w.VBox([w.HTML(f"<b>{k}</b>"), p]) for k, p in
                          (("A", self.audio_a), ("B", self.audio_b), ("X", self.audio_x))],
                         layout=w.Layout(gap="24px"))
        self.trial_box = w.VBox([self.progress, players, w.HTML("<b>Which one is X?</b>"),
                                 w.HBox([self.answer_a, self.answer_b])],
                                layout=w.Layout(display="none"))
        self.widget = cls(w.VBox([self.title, w.HBox([self.name, self.start]), self.trial_box,
                                  self.status, self.summary]), "fxlab-abx")
        self.start.on_click(lambda _b: self.begin(self.name.value))
        self.answer_a.on_click(lambda _b: self.answer("A"))
        self.answer_b.on_click(lambda _b: self.answer("B"))

    def _load_answers(self) -> dict[int, dict]:
        out: dict[int, dict] = {}
        for r in self.store.read():
            if r["rater"] == self.rater and r["session"] == self.session.session:
                out.setdefault(int(r["trial"]), r)  # the first answer counts
        return out

    def _first_open(self) -> int:
        return next((i for i in range(self.session.n_trials) if i + 1 not in self.answers),
                    self.session.n_trials)

    def begin(self, name: str) -> None:
        """Start or resume the ABX session of rater ``name`` (a bad name shows a message)."""
        try:
            self.rater = normalize_rater(name)
        except ParameterError:
            self.status.value = ("<span style='color:#b00'>Type your name first, then press "
                                 "Start.</span>")
            return
        self.order = abx_order(self.session, self.rater, seed=self.seed)
        self.answers = self._load_answers()
        first = self._first_open()
        self.summary.value = ""
        if first >= self.session.n_trials:
            self._finish()
            self.status.value = (f"Welcome back, {html.escape(self.rater)}: you have answered "
                                 "every trial.")
            return
        self.finished = False
        self._show(first)
        done = len(self.answers)
        self.status.value = (f"Resuming {html.escape(self.rater)} at trial {first + 1} "
                             f"({done} answered before)." if done else
                             f"Hello {html.escape(self.rater)}: {self.session.n_trials} trials.")

    def _show(self, position: int) -> None:
        self.position = position
        self.audio_x.value = self._x[self.order[position]]
        self.progress.value = f"<b>trial {position + 1} of {self.session.n_trials}</b>"
        self.trial_box.layout.display = "flex"

    def answer(self, choice: str) -> dict | None:
        """Record ``choice`` (``"A"``: X is A, ``"B"``: X is B) for the current trial; move on."""
        if self.rater is None or not self.order or self.finished:
            return None
        trial = self.position + 1
        rec = self.store.append({
            "rater": self.rater, "session": self.session.session, "trial": trial,
            "n_trials": self.session.n_trials, "model": self.session.model,
            "clip": self.session.clip, "x": self.order[self.position], "answer": choice,
            "seed": int(self.seed),
        })
        self.answers.setdefault(trial, rec)
        nxt = self._first_open()
        if nxt >= self.session.n_trials:
            self._finish()
        else:
            self._show(nxt)
        self.status.value = f"Saved: trial {trial}, X is {choice}."
        return rec

    def _finish(self) -> None:
        self.finished = True
        self.trial_box.layout.display = "none"
        correct = sum(r["answer"] == r["x"] for r in self.answers.values())
        v = abx_verdict(correct, self.session.n_trials)
        needed = (f"{v['needed']} of {v['n']} were needed for p &lt; 0.05"
                  if v["needed"] is not None else
                  f"no score out of {v['n']} reaches p &lt; 0.05")
        self.summary.value = (
            f"<b>Session complete. Thank you!</b> You matched X correctly in {correct} of "
            f"{v['n']} trials (p = {v['p']:.3g} by guessing; {needed}): "
            f"<b>{v['verdict']}</b>. B was model {html.escape(self.session.model)}'s output, A "
            "the target.")

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in the browser
        from IPython.display import display

        display(self.widget)


def abx_widget(session: AbxSession, config: ListeningConfig):
    """The ABX widget when someone is at the keyboard, otherwise a note on how to take the test.

    Parameters
    ----------
    session : AbxSession
    config : ListeningConfig
        Uses ``interactive`` (True in JupyterLab; False under papermill), ``abx_file`` (the
        shared answers file) and ``seed`` (the session seed).

    Returns
    -------
    AbxWidget or IPython.display.Markdown
    """
    if config.interactive:
        return AbxWidget(session, answers_path=config.abx_file, seed=config.seed)
    from IPython.display import Markdown

    return Markdown(
        f"*The ABX widget is shown when this notebook is opened in JupyterLab* "
        f"(`interactive = True`). This run prepared an ABX session of {session.n_trials} trials "
        f"on model {session.model} ({session.clip}; session `{session.session}`); answers are "
        f"saved to `{config.abx_file}`."
    )
