"""Small helpers every module shares: one of each, so no module writes its own copy.

- :func:`check_sr`          the one sample-rate check (a positive whole number of Hz)
- :func:`one_blas_thread`   a context running small dense solves on one BLAS thread
- :func:`require_extra`     import an optional extra's packages, or an error naming the extra
- :func:`atomic_write`      write a file so that a reader never sees half of it (text or bytes)
- :func:`atomic_path`       a context giving a temporary path that replaces the target on success
- :func:`write_json`        :func:`atomic_write` of a JSON document (numpy values converted)
- :func:`jsonable`          numpy scalars/arrays and paths -> plain JSON values (NaN -> None)
- :func:`fmt`               the one number formatter of tables and text (``"—"`` for a missing value)
- :func:`html_table`        the one HTML table builder (cells escaped unless marked :class:`Html`)
- :class:`Html`             a string that is already HTML (a link, a player) and is not escaped
- :class:`NotebookConfig`   base of every notebook's frozen config: ``XConfig.from_parameters(globals())``
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import math
import numbers
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem

__all__ = [
    "MISSING",
    "Html",
    "NotebookConfig",
    "atomic_path",
    "atomic_write",
    "check_sr",
    "fmt",
    "html_table",
    "jsonable",
    "require_extra",
    "write_json",
]

#: What a table shows for a value that is missing (None, NaN): one em dash, everywhere.
MISSING = "—"


def check_sr(sr: object, *, name: str = "sr") -> int:
    """Check a sample rate and return it as an ``int``.

    Parameters
    ----------
    sr : int > 0 [Hz]
        A whole number (``44100``, ``np.int64(48000)`` or ``44100.0``); bools, strings,
        fractions, NaN and values <= 0 are refused.
    name : str
        How the value is named in the error (``"sr"``, ``"sample_rate"``).

    Raises
    ------
    ParameterError
        Naming the value and the fix.
    """
    if isinstance(sr, bool) or not isinstance(sr, numbers.Real) or not math.isfinite(float(sr)) \
            or float(sr) <= 0 or float(sr) != int(sr):
        raise ParameterError(problem(
            f"{name}={sr!r}", found=f"{type(sr).__name__} {sr!r}",
            expected="a positive whole sample rate in Hz",
            fix=f"pass e.g. {name}=44100 (fxlab.audio.STUDY_SR) or the files' own rate",
        ))
    return int(sr)


def one_blas_thread():
    """A context under which BLAS runs on one thread: small dense solves (the capture's alignment,
    the gray-box's closed-form fit) run ~8x faster so than on a busy machine's many threads
    (measured: the gray-box fit of the drive, 10 s alone, took 124-163 s beside another test
    process with BLAS's default threads)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a declared dependency; kept optional for old installs
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def require_extra(who: str, modules: Sequence[str], extra: str, what: str):
    """Import ``modules`` (the last one is returned), or raise a :class:`ParameterError` that
    names ``who`` needed them and the optional extra that installs them.

    Parameters
    ----------
    who : str
        What needs them, as the user asked for it (e.g. ``"fxlab listen"``).
    modules : sequence of str
        Module names, imported in order.
    extra : str
        fxlab's optional extra that installs them (``pip install -e ".[extra]"``).
    what : str
        The packages in words, for the message (e.g. ``"Voilà"``).
    """
    import importlib

    module = None
    try:
        for name in modules:
            module = importlib.import_module(name)
    except ImportError as e:
        raise ParameterError(problem(
            who, found=f"no {what} ({e})",
            expected=f"{what} installed (the optional '{extra}' extra)",
            fix=f'pip install -e ".[{extra}]" (or: make env EXTRAS=dev,jax,{extra})')) from e
    return module


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    Use it for writers that want a file name (``np.savez``, ``model.save``, ``soundfile``). If the
    block raises, the temporary file is removed and ``path`` is left as it was. ``suffix`` is added
    to the temporary name for writers that choose the format by extension (``".npz"``, ``".keras"``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
    return path


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays, tuples and paths made plain JSON values.

    Non-finite floats become ``None`` (JSON has no NaN), so a missing number reads as missing.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, os.PathLike):
        return str(obj)
    return obj


def write_json(path: str | os.PathLike, doc: Any, *, indent: int = 2) -> Path:
    """Write ``doc`` as JSON (through :func:`jsonable`) atomically; returns the path."""
    return atomic_write(path, json.dumps(jsonable(doc), indent=indent) + "\n")


def fmt(value: Any, digits: int = 3) -> str:
    """Format a number for a table or a sentence.

    ``None`` and non-finite floats give :data:`MISSING` (``"—"``); ints get thousands separators
    (``12,345``); other reals ``digits`` significant digits (``1.23e-05``, ``0.5``); strings pass
    through.
    """
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        v = float(value)
        return f"{v:.{digits}g}" if math.isfinite(v) else MISSING
    return str(value)


class Html(str):
    """A string that is already HTML: :func:`html_table` puts it in a cell unescaped."""

    __slots__ = ()


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, Html):
        return str(value)
    return html.escape(fmt(value, digits))


def html_table(columns: Sequence[Any], rows: Iterable[Sequence[Any]], *, caption: str | None = None,
               css_class: str = "fxlab-table", digits: int = 3) -> Html:
    """An HTML table: a header row of ``columns``, then one row per item of ``rows``.

    Cells are formatted by :func:`fmt` and escaped, except :class:`Html` values (links, players,
    ``<code>``), which go in as they are. Returns :class:`Html`, so a table can sit in a cell.
    """
    head = "".join(f"<th>{_cell(c, digits)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v, digits)}</td>" for v in row) + "</tr>"
                   for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return Html(f'<table class="{html.escape(css_class)}">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")


class NotebookConfig:
    """Base of a notebook's frozen config dataclass: field names equal the notebook's parameters.

    A notebook builds its config in one line from its ``parameters`` cell, the way nanoGPT collects
    its flat literals::

        config = evaluate.EvalConfig.from_parameters(globals())

    Only the fields of the class are taken from the namespace (so the notebook's imports and other
    names are ignored); each must be present. The dataclass's ``__post_init__`` checks the values.
    A test checks, for every notebook, that the fields are exactly the names of its parameters.
    """

    @classmethod
    def from_parameters(cls, namespace: Mapping[str, Any], **changes: Any):
        """Build the config from a notebook's namespace (``globals()``) or any mapping.

        ``changes`` override values (for calls from Python rather than a notebook).
        """
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        values = {n: namespace[n] for n in names if n in namespace}
        values.update(changes)
        missing = [n for n in names if n not in values]
        if missing:
            raise ParameterError(problem(
                f"{cls.__name__}.from_parameters", found=f"no value for {', '.join(missing)}",
                expected=f"every parameter of the notebook: {', '.join(names)}",
                fix="run the notebook's parameters cell first (or pass the missing names)",
            ))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The config as a plain dict (what is saved beside the artifacts it made)."""
        return jsonable(dataclasses.asdict(self))
