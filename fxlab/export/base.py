"""What every export format declares: :class:`Format` (name, file extension, the models it can
represent, its writer, the reader that verifies it), and the checks the formats share.

- :class:`Format`            an export format
- :func:`recurrent_only`     ``None`` for ``lstm``/``gru`` (conditioned or not), else why not
- :func:`sample_level_only`  ``None`` for what a streaming graph holds, else why not

Both ask the trained model (:attr:`~fxlab.training.TrainedModel.structure`,
:attr:`~fxlab.training.TrainedModel.knob_count`); none compares model names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Format", "recurrent_only", "sample_level_only"]


@dataclass(frozen=True)
class Format:
    """An export format.

    Attributes
    ----------
    name : str
        What ``fxlab export --format`` takes.
    extension : str
        The file's extension, with its dot.
    represents : str
        The models it can represent, in words (for errors and the card).
    why_not : callable
        ``why_not(tm) -> str | None``: ``None`` when the format can represent the trained model,
        else the reason it cannot.
    write : callable
        ``write(tm, path, meta) -> None``: writes the file (atomically).
    verified_by : str
        The consumer's reader the tests load the file with.
    """

    name: str
    extension: str
    represents: str
    why_not: Callable[[Any], str | None]
    write: Callable[[Any, Path, dict], None]
    verified_by: str


def recurrent_only(tm) -> str | None:
    """``None`` for the sample-level LSTM/GRU networks (``tm.structure == "recurrent"``: ``lstm``,
    ``gru``, knob-conditioned or not), else why not."""
    if tm.structure == "recurrent":
        return None
    return f"it is a {tm.name!r} network, and this format holds the sample-level LSTM/GRU networks only"


def sample_level_only(tm) -> str | None:
    """``None`` for the networks a streaming graph holds (a ``tcn`` structure without knobs, and
    what :func:`recurrent_only` admits), else why not."""
    if tm.structure == "tcn":
        k = tm.knob_count
        if k:  # FiLM conditioning: its streaming graph is not written yet
            return (f"it is a tcn conditioned on {k} knob(s) through FiLM, and fxlab does not export a "
                    "conditioned tcn yet (conditioned lstm and gru networks export with their knob inputs)")
        return None
    return recurrent_only(tm)
