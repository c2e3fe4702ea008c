"""The rating widget of the listening test (ipywidgets), shown in JupyterLab.

- :class:`ListeningWidget`   name, start, players A and B, the four answers, progress, back and
  next, a summary that reveals the sides at the end; it resumes a rater from the ratings file
- :func:`listening_widget`   the widget when someone is at the keyboard, a note otherwise
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

from fxlab.errors import ParameterError
from fxlab.listening.aggregate import latest_answers, rater_status
from fxlab.listening.scale import ANSWERS, CONTROL_DRY, CONTROL_SAME
from fxlab.listening.store import RatingsStore
from fxlab.listening.trials import TrialSet, normalize_rater, rater_order
from fxlab.util import html_table

if TYPE_CHECKING:
    from fxlab.listening.config import ListeningConfig

__all__ = ["ListeningWidget", "listening_widget"]


class ListeningWidget:
    """The blind A/B rating widget (ipywidgets) for one :class:`TrialSet`.

    A rater types a name (CSS class ``fxlab-rater``) and presses Start (``fxlab-start``). Each
    trial shows players A and B (``fxlab-audio-a``, ``fxlab-audio-b``: HTML audio elements), the
    question, the four answers as buttons (``fxlab-answer-1`` … ``fxlab-answer-4``, labelled with
    the thesis's wording), the progress "trial 3 of 12" (``fxlab-progress``), Back and Next
    (``fxlab-back``, ``fxlab-next``) and a status line (``fxlab-status``). Clicking an answer saves
    it at once (:class:`RatingsStore`) and moves on. When every trial is answered, a summary
    (``fxlab-summary``) reveals which side was the model. Starting again with the same name resumes
    at the first unanswered trial, from the ratings file.

    Parameters
    ----------
    trial_set : TrialSet
    ratings_path : path
        The shared JSONL file of answers.
    seed : int
        Session seed: with the rater's name it fixes the order and the sides.
    """

    def __init__(self, trial_set: TrialSet, *, ratings_path: str | os.PathLike, seed: int):
        import ipywidgets as w

        self.trial_set = trial_set
        self.store = RatingsStore(ratings_path)
        self.seed = seed
        self.rater: str | None = None
        self.order: list[tuple[str, str]] = []
        self.answers: dict[str, int] = {}
        self.position = 0
        self.finished = False
        self._audio_cache: dict[str, bytes] = {}

        def cls(widget, name):
            widget.add_class(name)
            return widget

        self.title = w.HTML(
            "<b>Blind listening test.</b> For each trial, listen to A and B and answer: how "
            "similar do they sound? One of them is the target (the real effect); the other is a "
            "network's output, or a check. Use headphones. Your answers are saved as you click."
        )
        self.name = cls(w.Text(placeholder="your name", description="Rater:"), "fxlab-rater")
        self.start = cls(w.Button(description="Start", button_style="primary",
                                  tooltip="start or resume your session"), "fxlab-start")
        self.progress = cls(w.HTML(""), "fxlab-progress")
        self.audio_a = cls(w.Audio(value=b"", format="wav", autoplay=False, controls=True,
                                   loop=False), "fxlab-audio-a")
        self.audio_b = cls(w.Audio(value=b"", format="wav", autoplay=False, controls=True,
                                   loop=False), "fxlab-audio-b")
        self.question = w.HTML("<b>How similar are A and B?</b>")
        self.answer_buttons = [
            cls(w.Button(description=f"{k} {label}", tooltip=f"answer {k}: {label}",
                         layout=w.Layout(width="auto")), f"fxlab-answer-{k}")
            for k, label in ANSWERS.items()
        ]
        self.back = cls(w.Button(description="Back", icon="arrow-left"), "fxlab-back")
        self.next = cls(w.Button(description="Next", icon="arrow-right"), "fxlab-next")
        self.status = cls(w.HTML(""), "fxlab-status")
        self.summary = cls(w.HTML(""), "fxlab-summary")
        players = w.HBox([
            w.VBox([w.HTML("<b>A</b>"), self.audio_a]),
            w.VBox([w.HTML("<b>B</b>"), self.audio_b]),
        ], layout=w.Layout(gap="24px"))
        self.trial_box = w.VBox([
            self.progress, players, self.question, w.HBox(self.answer_buttons),
            w.HBox([self.back, self.next]),
        ], layout=w.Layout(display="none"))
        self.widget = cls(w.VBox([
            self.title, w.HBox([self.name, self.start]), self.trial_box, self.status, self.summary,
        ]), "fxlab-listening")
        self.start.on_click(lambda _b: self.begin(self.name.value))
        for k, b in zip(ANSWERS, self.answer_buttons, strict=True):
            b.on_click(lambda _b, k=k: self.answer(k))
        self.back.on_click(lambda _b: self.go(self.position - 1))
        self.next.on_click(lambda _b: self.go(self.position + 1))

    # -- state ------------------------------------------------------------------------------

    def _load_answers(self) -> dict[str, int]:
        latest = latest_answers(self.store.read())
        return {t: int(r["answer"]) for (rater, sess, t), r in latest.items()
                if rater == self.rater and sess == self.trial_set.session}

    def begin(self, name: str) -> None:
        """Start or resume the session of rater ``name`` (a bad name shows a message)."""
        try:
            self.rater = normalize_rater(name)
        except ParameterError:
            self.status.value = "<span style='color:#b00'>Type your name first, then press Start.</span>"
            return
        self.order = rater_order(self.trial_set, self.rater, seed=self.seed)
        self.answers = self._load_answers()
        first_open = next((i for i, (t, _s) in enumerate(self.order) if t not in self.answers), None)
        self.finished = first_open is None
        if self.finished:
            self.status.value = (f"Welcome back, {html.escape(self.rater)}: you have answered "
                                 "every trial.")
            self._show_summary()
            self.position = len(self.order) - 1
            self.trial_box.layout.display = "none"
            return
        done = len(self.answers)
        self.summary.value = ""
        self.go(first_open)
        self.status.value = (f"Resuming {html.escape(self.rater)} at trial {first_open + 1} "
                             f"({done} answered before)." if done else
                             f"Hello {html.escape(self.rater)}: {len(self.order)} trials.")

    def _audio(self, rel: str) -> bytes:
        if rel not in self._audio_cache:
            self._audio_cache[rel] = (self.trial_set.root / rel).read_bytes()
        return self._audio_cache[rel]

    def go(self, position: int) -> None:
        """Show the trial at ``position`` (0-based in the rater's order), clamped to the range."""
        if not self.order:
            return
        position = max(0, min(position, len(self.order) - 1))
        if position > self.position and self.order[self.position][0] not in self.answers \
                and position > self._first_open():
            position = self.position  # do not skip an unanswered trial
        self.position = position
        trial_id, side = self.order[position]
        trial = self.trial_set.trial(trial_id)
        a, b = (trial.candidate, trial.reference) if side == "A" else (
            trial.reference, trial.candidate)
        self.audio_a.value = self._audio(a)
        self.audio_b.value = self._audio(b)
        self.progress.value = f"<b>trial {position + 1} of {len(self.order)}</b>"
        current = self.answers.get(trial_id)
        for k, btn in zip(ANSWERS, self.answer_buttons, strict=True):
            btn.button_style = "info" if k == current else ""
        self.back.disabled = position == 0
        self.next.disabled = current is None or position == len(self.order) - 1
        self.trial_box.layout.display = "flex"

    def _first_open(self) -> int:
        return next((i for i, (t, _s) in enumerate(self.order) if t not in self.answers),
                    len(self.order))

    def answer(self, value: int) -> dict | None:
        """Record ``value`` (1..4) for the current trial, then move to the next open trial."""
        if self.rater is None or not self.order:
            return None
        trial_id, side = self.order[self.position]
        trial = self.trial_set.trial(trial_id)
        rec = self.store.append({
            "rater": self.rater, "session": self.trial_set.session, "trial": trial_id,
            "position": self.position + 1, "model": trial.model, "clip": trial.clip,
            "side": side, "answer": int(value), "seed": int(self.seed),
            "session_trials": len(self.trial_set.trials),
            "session_controls": self.trial_set.n_controls,
        })
        self.answers[trial_id] = int(value)
        saved = (f"Saved: trial {self.position + 1}, answer {value} "
                 f"&ldquo;{ANSWERS[value]}&rdquo;.")
        nxt = self._first_open()
        if nxt >= len(self.order):
            self.finished = True
            self.trial_box.layout.display = "none"
            self._show_summary()
        else:
            # the next trial if it is open, else the first open one (after revisiting)
            following = self.position + 1
            self.go(following if following < len(self.order)
                    and self.order[following][0] not in self.answers else nxt)
        self.status.value = saved  # last, so the page shows it once the next trial is up
        return rec

    def _show_summary(self) -> None:
        rows = []
        for i, (trial_id, side) in enumerate(self.order):
            t = self.trial_set.trial(trial_id)
            what = {CONTROL_SAME: "check: the target itself",
                    CONTROL_DRY: "check: the unprocessed input"}.get(t.model, f"model {t.model}")
            ans = self.answers.get(trial_id)
            rows.append((i + 1, t.clip, side, what, f"{ans} {ANSWERS[ans]}" if ans else None))
        own = [{"model": self.trial_set.trial(t).model, "trial": t, "answer": a,
                "session_controls": self.trial_set.n_controls} for t, a in self.answers.items()]
        st = rater_status(own)
        verdict = {"passed": "You passed the checks: your answers count.",
                   "failed": "Some checks were missed (" + ", ".join(st["failures"])
                             + "): your answers are kept but not counted.",
                   "incomplete": "Some checks are unanswered."}[st["status"]]
        self.summary.value = (
            "<b>Session complete. Thank you!</b> Here is which side was which "
            f"(the other side was always the target). {html.escape(verdict)}"
            + html_table(["trial", "clip", "side of the candidate", "candidate", "your answer"],
                         rows)
            + "<p>Press <i>Back</i> to change an answer (the latest counts).</p>"
        )
        self.back.disabled = False

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in the browser test
        from IPython.display import display

        display(self.widget)


def listening_widget(trial_set: TrialSet, config: ListeningConfig):
    """The rating widget when someone is at the keyboard, otherwise a note on how to take the test.

    Parameters
    ----------
    trial_set : TrialSet
    config : ListeningConfig
        Uses ``interactive`` (True in JupyterLab; False under papermill, the profiles set it),
        ``ratings_file`` (the shared ratings file) and ``seed`` (the session seed).

    Returns
    -------
    ListeningWidget or IPython.display.Markdown
    """
    if config.interactive:
        return ListeningWidget(trial_set, ratings_path=config.ratings_file, seed=config.seed)
    from IPython.display import Markdown

    return Markdown(
        f"*The rating widget is shown when this notebook is opened in JupyterLab* "
        f"(`interactive = True`). This run prepared {len(trial_set.trials)} trials "
        f"(session `{trial_set.session}`); answers are saved to `{config.ratings_file}`."
    )
