"""What a run folder offers the listening test: the models it rendered.

- :func:`rendered_models`  the models a run rendered for every split (``rendered/<model>/<split>.wav``)

Below both :mod:`fxlab.listening.config` (which falls back to ``reports/latest`` when a run has
none) and :mod:`fxlab.listening.trials` (which cuts their clips).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from fxlab.listening.scale import RESERVED

__all__ = ["rendered_models"]


def rendered_models(run_dir: str | os.PathLike, *, splits: Sequence[str] = ("val1", "val2")) -> list[str]:
    """Names of the models that have a rendered output for every split, sorted.

    Parameters
    ----------
    run_dir : path
        A run folder holding ``rendered/<model>/<split>.wav``.
    splits : sequence of str
        The splits each model must have.

    Returns
    -------
    list of str
        Possibly empty.
    """
    rendered = Path(run_dir) / "rendered"
    if not rendered.is_dir():
        return []
    return sorted(
        d.name for d in rendered.iterdir()
        if d.is_dir() and d.name not in RESERVED
        and all((d / f"{s}.wav").is_file() for s in splits)
    )
