"""The answer stores: append-only JSONL files of answers, shared by every run.

- :func:`default_ratings_path`  ``reports/listening/ratings.jsonl``, beside the run folders
- :class:`RatingsStore`         appends one answer per line (``O_APPEND``, one ``write``, ``fsync``)
- :func:`read_ratings`          the valid records in file order, and how many lines were skipped
- :func:`default_abx_path`      ``reports/listening/abx.jsonl``, the ABX test's answers
- :class:`AbxStore`             the same append-only file for ABX answers ("X is A" / "X is B")
- :func:`read_abx`              the valid ABX records in file order, and how many lines were skipped

Nothing is ever rewritten: the bytes before an append are a prefix of the bytes after, so a crash
loses at most the answer being written. Each rating holds ``rater, session, trial, model, clip,
side, answer, time`` (and, from the widget, ``position, seed, session_trials, session_controls``);
each ABX answer holds :data:`ABX_FIELDS` (and, from the widget, ``seed``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fxlab.errors import ParameterError, problem
from fxlab.listening.scale import ANSWERS

__all__ = [
    "ABX_FIELDS",
    "ABX_MAX_TRIALS",
    "RECORD_FIELDS",
    "AbxStore",
    "RatingsStore",
    "default_abx_path",
    "default_ratings_path",
    "read_abx",
    "read_ratings",
]

#: The fields every rating has.
RECORD_FIELDS = ("rater", "session", "trial", "model", "clip", "side", "answer", "time")
#: The fields every ABX answer has: ``trial`` is 1..``n_trials`` (the session's N, fixed before it
#: starts), ``x`` what X was (``"A"`` or ``"B"``), ``answer`` what the rater said X was.
ABX_FIELDS = ("rater", "session", "trial", "n_trials", "model", "clip", "x", "answer", "time")
#: The most trials an ABX session may have.
ABX_MAX_TRIALS = 200


def default_ratings_path(run_dir: str | os.PathLike) -> Path:
    """Where ratings live by default: ``<reports>/listening/ratings.jsonl`` beside the run folders.

    ``run_dir`` is ``reports/<run-id>``, so this is ``reports/listening/ratings.jsonl``: one file
    shared by every run, so that ratings given in JupyterLab appear in the next ``make report``.
    """
    return Path(run_dir).parent / "listening" / "ratings.jsonl"


def default_abx_path(run_dir: str | os.PathLike) -> Path:
    """Where ABX answers live by default: ``<reports>/listening/abx.jsonl`` beside the run folders.

    One file shared by every run, beside the ratings file (:func:`default_ratings_path`).
    """
    return Path(run_dir).parent / "listening" / "abx.jsonl"


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _valid_abx(rec: object) -> bool:
    return (
        isinstance(rec, dict)
        and all(k in rec for k in ABX_FIELDS)
        and _is_int(rec["n_trials"]) and 1 <= rec["n_trials"] <= ABX_MAX_TRIALS
        and _is_int(rec["trial"]) and 1 <= rec["trial"] <= rec["n_trials"]
        and rec["x"] in ("A", "B") and rec["answer"] in ("A", "B")
        and isinstance(rec["rater"], str) and isinstance(rec["session"], str)
    )


def _valid_record(rec: object) -> bool:
    return (
        isinstance(rec, dict)
        and all(k in rec for k in RECORD_FIELDS)
        and isinstance(rec["answer"], int) and not isinstance(rec["answer"], bool)
        and rec["answer"] in ANSWERS
        and isinstance(rec["rater"], str) and isinstance(rec["trial"], str)
    )


def read_ratings(path: str | os.PathLike) -> tuple[list[dict], int]:
    """Read a ratings JSONL file, skipping lines that are torn or not a rating.

    Parameters
    ----------
    path : path
        The ratings file (it may not exist yet).

    Returns
    -------
    (records, skipped) : (list of dict, int)
        The valid records in file order (which is the order they were given) and the number of
        lines skipped (a crash mid-write leaves at most one torn line).
    """
    return _read_jsonl(path, _valid_record)


def read_abx(path: str | os.PathLike) -> tuple[list[dict], int]:
    """Read an ABX answers file (:class:`AbxStore`), skipping lines that are torn or not an answer.

    Parameters
    ----------
    path : path
        The ABX answers file (it may not exist yet).

    Returns
    -------
    (records, skipped) : (list of dict, int)
        As :func:`read_ratings`: the valid records in file order and the number of lines skipped.
    """
    return _read_jsonl(path, _valid_abx)


def _read_jsonl(path: str | os.PathLike, valid) -> tuple[list[dict], int]:
    path = Path(path)
    if not path.exists():
        return [], 0
    records, skipped = [], 0
    data = path.read_bytes()
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            skipped += 1
            continue
        if valid(rec):
            records.append(rec)
        else:
            skipped += 1
    return records, skipped


class RatingsStore:
    """An append-only JSONL file of answers, safe against crashes.

    Each :meth:`append` writes one JSON object and a newline with a single ``write`` on a file
    descriptor opened with ``O_APPEND``, then ``fsync``\\ s it (and the folder, when the file is
    new). Nothing is ever rewritten: the bytes before an append are a prefix of the bytes after.
    If the file ends in a torn line (a crash mid-write), the next append first ends that line, so
    the torn fragment stays one skipped line and never swallows a good record.

    Parameters
    ----------
    path : path
        The JSONL file; its folder is created if needed.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def append(self, record: Mapping[str, Any]) -> dict:
        """Append one rating; returns the record as written (with ``time`` added if missing).

        ``record`` needs ``rater, session, trial, model, clip, side, answer`` (answer in 1..4);
        ``time`` (ISO 8601 UTC) is added when absent. Other keys are kept.
        """
        rec = dict(record)
        rec.setdefault("time", _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"))
        if not _valid_record(rec):
            missing = [k for k in RECORD_FIELDS if k not in rec]
            raise ParameterError(problem(
                "rating", found=f"{rec!r}" + (f" (missing {', '.join(missing)})" if missing else ""),
                expected="fields " + ", ".join(RECORD_FIELDS) + " with answer an int in 1..4",
                fix="pass every field; answer is 1 (Not similar at all) to 4 (The same)",
            ))
        _append_line(self.path, rec)
        return rec

    def read(self) -> list[dict]:
        """The valid records in file order (see :func:`read_ratings`)."""
        return read_ratings(self.path)[0]


class AbxStore:
    """The ABX test's answers: an append-only JSONL file, written as :class:`RatingsStore` writes.

    One line per answer, appended with a single ``write`` (``O_APPEND``, ``fsync``), never
    rewritten; a torn last line stays one skipped line (:func:`read_abx`).

    Parameters
    ----------
    path : path
        The JSONL file (:func:`default_abx_path` by default); its folder is created if needed.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def append(self, record: Mapping[str, Any]) -> dict:
        """Append one ABX answer; returns the record as written (with ``time`` added if missing).

        ``record`` needs :data:`ABX_FIELDS` but ``time``: ``trial`` an int in 1..``n_trials``,
        ``n_trials`` an int in 1..:data:`ABX_MAX_TRIALS`, ``x`` and ``answer`` each ``"A"`` or
        ``"B"``. Other keys are kept.
        """
        rec = dict(record)
        rec.setdefault("time", _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds"))
        if not _valid_abx(rec):
            missing = [k for k in ABX_FIELDS if k not in rec]
            raise ParameterError(problem(
                "ABX answer", found=f"{rec!r}" + (f" (missing {', '.join(missing)})"
                                                  if missing else ""),
                expected="fields " + ", ".join(ABX_FIELDS) + " with trial in 1..n_trials, "
                f"n_trials in 1..{ABX_MAX_TRIALS}, x and answer each 'A' or 'B'",
                fix="pass every field; answer is 'A' (X is A) or 'B' (X is B)",
            ))
        _append_line(self.path, rec)
        return rec

    def read(self) -> list[dict]:
        """The valid records in file order (see :func:`read_abx`)."""
        return read_abx(self.path)[0]


def _append_line(path: Path, rec: Mapping[str, Any]) -> None:
    """Append ``rec`` as one JSON line: one ``write`` with ``O_APPEND``, ``fsync``; a torn last
    line is ended first so that it stays one skipped line."""
    line = (json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    is_new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    line = b"\n" + line  # end a torn last line first
        view = memoryview(line)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)
    if is_new:
        _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
