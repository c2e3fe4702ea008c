"""The ratings store: one append-only JSONL file of answers, shared by every run.

- :func:`default_ratings_path`  ``reports/listening/ratings.jsonl``, beside the run folders
- :class:`RatingsStore`         appends one answer per line (``O_APPEND``, one ``write``, ``fsync``)
- :func:`read_ratings`          the valid records in file order, and how many lines were skipped

Nothing is ever rewritten: the bytes before an append are a prefix of the bytes after, so a crash
loses at most the answer being written. Each line holds ``rater, session, trial, model, clip, side,
answer, time`` (and, from the widget, ``position, seed, session_trials, session_controls``).
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

__all__ = ["RECORD_FIELDS", "RatingsStore", "default_ratings_path", "read_ratings"]

#: The fields every rating has.
RECORD_FIELDS = ("rater", "session", "trial", "model", "clip", "side", "answer", "time")


def default_ratings_path(run_dir: str | os.PathLike) -> Path:
    """Where ratings live by default: ``<reports>/listening/ratings.jsonl`` beside the run folders.

    ``run_dir`` is ``reports/<run-id>``, so this is ``reports/listening/ratings.jsonl``: one file
    shared by every run, so that ratings given in JupyterLab appear in the next ``make report``.
    """
    return Path(run_dir).parent / "listening" / "ratings.jsonl"


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
        if _valid_record(rec):
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
        line = (json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        is_new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(self.path, "rb") as f:
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
            _fsync_dir(self.path.parent)
        return rec

    def read(self) -> list[dict]:
        """The valid records in file order (see :func:`read_ratings`)."""
        return read_ratings(self.path)[0]


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
