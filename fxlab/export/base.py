"""What every export format declares: :class:`Format` (name, file extension, the models it can
represent, its writer, the reader that verifies it), and the checks the formats share.

- :class:`Format`            an export format
- :func:`recurrent_only`     ``None`` for ``lstm``/``gru`` (conditioned or not), else why not
- :func:`sample_level_only`  ``None`` for what a streaming graph holds, else why not
- :func:`not_a_network`      why a network format cannot hold the gray-box emulator (else ``None``)

Both ask the trained model (:attr:`~fxlab.training.TrainedModel.structure`,
:attr:`~fxlab.training.TrainedModel.knob_count`); none compares model names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Format", "not_a_network", "recurrent_only", "sample_level_only"]


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
    card : callable or None
        ``card(tm, meta) -> list of str``: Markdown lines the model card adds on what the model
        is and how to run it from this format (the gray-box emulator's), or None.
    """

    name: str
    extension: str
    represents: str
    why_not: Callable[[Any], str | None]
    write: Callable[[Any, Path, dict], None]
    verified_by: str
    card: Callable[[Any, dict], list[str]] | None = None


def not_a_network(tm, *, holds: str = "neural networks (layers, their weights and state)") -> str | None:
    """Why a format that holds networks cannot hold ``tm`` when it is the gray-box emulator
    (``tm.structure == "graybox"``: biquads and a static curve, no layers), pointing at the format
    that does; ``None`` for a network."""
    if tm.structure != "graybox":
        return None
    return (f"it is the gray-box emulator ({tm.name!r}: a parametric EQ of biquads and a static curve, "
            f"not a network), and this format holds {holds}; export --format graybox writes its "
            "biquad coefficients and curve as JSON any DSP host can run")


def recurrent_only(tm) -> str | None:
    """``None`` for the sample-level LSTM/GRU networks (``tm.structure == "recurrent"``: ``lstm``,
    ``gru``, knob-conditioned or not), else why not."""
    if tm.structure == "recurrent":
        return None
    if tm.structure == "graybox":
        return not_a_network(tm, holds="LSTM/GRU network layers")
    return f"it is a {tm.name!r} network, and this format holds the sample-level LSTM/GRU networks only"


def sample_level_only(tm) -> str | None:
    """``None`` for the networks a streaming graph holds (a ``tcn`` structure without knobs, and
    what :func:`recurrent_only` admits), else why not."""
    if tm.structure == "graybox":
        return not_a_network(tm, holds=(
            "a graph of operators, which fxlab writes for its networks only (LSTM/GRU or TCN "
            "layers, state in and out); recursive filters would need a loop over every sample, "
            "which a host runs better as plain biquads"))
    if tm.structure == "tcn":
        k = tm.knob_count
        if k:  # FiLM conditioning: its streaming graph is not written yet
            return (f"it is a tcn conditioned on {k} knob(s) through FiLM, and fxlab does not export a "
                    "conditioned tcn yet (conditioned lstm and gru networks export with their knob inputs)")
        return None
    return recurrent_only(tm)
