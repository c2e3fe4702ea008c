"""Export a trained model to the formats real-time players load, with a model card beside it.

::

    fxlab export MODEL_DIR --format aidax|rtneural|nam|onnx|tflite|graybox [--out FILE]

======== ================================================================= =======================
format   holds                                                             verified by (tests)
======== ================================================================= =======================
aidax    AIDA-X's model JSON: one LSTM/GRU layer of 8-80 units, 0-2 knobs  schema + numpy reader
rtneural RTNeural's Keras-style JSON: LSTM/GRU, any units, layers, knobs    schema + numpy reader
nam      Neural Amp Modeler's ``.nam``: ``lstm`` without knobs (skip       neural-amp-modeler's
         folded in)                                                        loader
onnx     ONNX graph of lstm, gru (with knobs) or tcn, streaming            onnxruntime
tflite   TFLite/LiteRT: lstm, gru (with knobs) or tcn, streaming           the LiteRT interpreter
graybox  the gray-box emulator (not a network): biquad coefficients per    numpy/scipy from the
         section, drive, the curve's parameters; with knobs its controller JSON alone
         and a table of settings (``.graybox.json``)
======== ================================================================= =======================

Every format holds the sample-level ``lstm`` and ``gru`` (``nam``: ``lstm`` only; ``aidax``: the
sizes AIDA-X plays); ``onnx`` and ``tflite`` also hold the ``tcn``; none holds the thesis's windowed networks
(a window of forward steps per output sample: no player runs them live). The gray-box emulator
(``graybox``: a parametric EQ and a static curve) is not a network: the network formats refuse it
and ``graybox`` writes it as a JSON any DSP host can implement (:mod:`fxlab.export.graybox`), with
a card giving its EQ in Hz, dB and Q. Asking a format for a
model it cannot hold raises :class:`~fxlab.errors.ParameterError` naming the formats that can. Each file carries the
metadata of :func:`fxlab.export.metadata.model_metadata` in the fields its format has, and a
Markdown card (``<file>.md``) is written beside it.

Knob-conditioned networks (``lstm``/``gru`` built with ``knobs=K``) export with their knob inputs:
the JSON's ``in_shape`` ends in ``1 + K`` (AIDA-X: ``K <= 2``, its ``PARAM1``/``PARAM2``), ONNX
and TFLite take a ``knobs`` input beside ``x``; every file lists the knobs (name, unit, range,
scale, default, how a value maps to [0, 1]) in its metadata and the card says how a host feeds
them. ``nam`` refuses them (no knob inputs in a ``.nam`` LSTM), and a conditioned ``tcn`` (FiLM)
is refused by every format for now.

- :data:`FORMATS`            every format by name (:class:`fxlab.export.base.Format`)
- :func:`formats_for`        the formats that can hold a trained model
- :func:`export`             one model folder to one format (+ its card)
- :func:`export_all`         one model folder to every format it fits (+ one card listing them)
- :func:`export_run_model`   a run's model to every format it fits, into ``<run>/export/<name>/``
  (notebook 05 exports the recommended ``lstm`` so)
- :class:`Exported`          what an export wrote

One module per format: :mod:`~fxlab.export.rtneural` (``aidax``, ``rtneural``),
:mod:`~fxlab.export.nam`, :mod:`~fxlab.export.onnx`, :mod:`~fxlab.export.tflite`,
:mod:`~fxlab.export.graybox`; the metadata and card: :mod:`~fxlab.export.metadata`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.export.base import Format
from fxlab.export.graybox import GRAYBOX
from fxlab.export.nam import NAM
from fxlab.export.onnx import ONNX
from fxlab.export.rtneural import AIDAX, RTNEURAL
from fxlab.export.tflite import TFLITE
from fxlab.util import atomic_write

__all__ = ["FORMATS", "FORMAT_NAMES", "ODD_REFUSAL", "Exported", "export", "export_all", "export_run_model",
           "formats_for"]

#: Every export format, by its ``--format`` name.
FORMATS: dict[str, Format] = {f.name: f for f in (AIDAX, RTNEURAL, NAM, ONNX, TFLITE, GRAYBOX)}
FORMAT_NAMES = tuple(FORMATS)


@dataclass
class Exported:
    """What :func:`export` / :func:`export_all` wrote.

    Attributes
    ----------
    files : dict
        ``{format: path}`` of the model files.
    card : Path or None
        The Markdown model card (None when nothing was exported).
    skipped : dict
        ``{format: why it cannot hold this model}`` (:func:`export_all` only).
    meta : dict
        The metadata written into every file.
    """

    files: dict[str, Path]
    card: Path | None
    skipped: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def table_html(self) -> str:
        """The files as an HTML table (format, file, size, read back by; then what was skipped)."""
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(f)}</td><td><code>{escape(p.name)}</code></td>"
            f"<td>{p.stat().st_size / 1024:.1f} KiB</td><td>{escape(FORMATS[f].verified_by)}</td></tr>"
            for f, p in self.files.items())
        rows += "".join(f"<tr><td>{escape(f)}</td><td colspan=3>not exported: {escape(why)}</td></tr>"
                        for f, why in self.skipped.items())
        card = (f"<p>Model card: <code>{escape(str(self.card))}</code></p>" if self.card else "")
        return card + ("<table><thead><tr><th>format</th><th>file</th><th>size</th><th>read back by</th>"
                f"</tr></thead><tbody>{rows}</tbody></table>")


def _load(model_dir):
    from fxlab.training import load_trained

    return model_dir if hasattr(model_dir, "config") and hasattr(model_dir, "path") \
        else load_trained(model_dir)


def formats_for(model) -> dict[str, str | None]:
    """``{format: None}`` for the formats that can hold ``model``, ``{format: reason}`` for the rest.

    Parameters
    ----------
    model : str, os.PathLike or fxlab.training.TrainedModel
        A model folder or a loaded model.
    """
    tm = _load(model)
    return {name: _why_not(f, tm) for name, f in FORMATS.items()}


#: Why no format holds an odd-symmetric network (``odd=1``), and what to do.
ODD_REFUSAL = ("an odd-symmetric network (odd=1) runs its core twice, on the input and on the input "
               "negated, and no player of this format does that; fxlab's own runtime plays it "
               "(TrainedModel.processor(), fxlab.runtime.stream_file); to export, train without odd (fxlab train without --odd, notebook 02's "
               "symmetry = 'none')")


def _why_not(fmt: Format, tm) -> str | None:
    """Why ``fmt`` cannot hold ``tm``: an odd-symmetric network first (every format's players run
    one network once per sample; an odd one runs its core twice), then the format's own reason."""
    if tm.config.get("model", {}).get("odd"):
        return ODD_REFUSAL
    return fmt.why_not(tm)


def _check_format(tm, fmt: str) -> Format:
    if fmt not in FORMATS:
        raise unknown_name("export format", fmt, FORMAT_NAMES)
    why = _why_not(FORMATS[fmt], tm)
    if why:
        able = [n for n, f in FORMATS.items() if _why_not(f, tm) is None]
        raise ParameterError(problem(
            f"{tm.path} ({tm.name})", found=f"format {fmt!r} cannot hold it: {why}",
            expected=f"a format that holds it: {', '.join(able)}" if able
            else "a model some format holds (lstm and gru, with or without knobs: aidax, rtneural, "
                 "onnx, tflite; lstm without knobs: nam; tcn without knobs: onnx, tflite; "
                 "graybox: graybox)",
            fix=f"export --format {able[0]}" if able else
            "train it without odd (fxlab train without --odd)" if why == ODD_REFUSAL else
            "train an lstm or gru model to export it"))
    return FORMATS[fmt]


def _about(tm, meta: dict, formats) -> list[str]:
    """What the formats that hold ``tm`` add to its card (:attr:`Format.card`)."""
    return [line for f in formats if f.card is not None for line in f.card(tm, meta)]


def export(model_dir, format: str, out=None, *, card: bool = True) -> Exported:  # noqa: A002
    """Export one trained model to one format and write its card beside it.

    Parameters
    ----------
    model_dir : str, os.PathLike or fxlab.training.TrainedModel
        A model folder written by training (``model.keras``, ``config.json``, ``summary.json``).
    format : str
        One of :data:`FORMAT_NAMES`.
    out : str, os.PathLike or None
        The file to write; default ``<model_dir>/export/<name><extension>``.
    card : bool
        Write the Markdown card ``<out>.md`` (it times the model at 64-sample blocks: ~1 s).

    Returns
    -------
    Exported

    Raises
    ------
    UnknownNameError
        An unknown format.
    ParameterError
        A format that cannot hold this model (the message names those that can).
    """
    from fxlab.export.metadata import measure_cost, model_card, model_metadata

    tm = _load(model_dir)
    fmt = _check_format(tm, format)
    path = Path(out) if out is not None else tm.path / "export" / f"{tm.path.name}{fmt.extension}"
    if path.is_dir():
        path = path / f"{tm.path.name}{fmt.extension}"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = model_metadata(tm)
    fmt.write(tm, path, meta)
    card_path = Path(os.fspath(path) + ".md")
    if card:
        atomic_write(card_path, model_card(tm, meta, {fmt.name: path}, {fmt.name: fmt.verified_by},
                                           measure_cost(tm), about=_about(tm, meta, [fmt])))
    return Exported(files={fmt.name: path}, card=card_path, meta=meta)


def export_all(model_dir, out_dir=None) -> Exported:
    """Export one trained model to every format that can hold it, with one card listing them.

    Parameters
    ----------
    model_dir : str, os.PathLike or fxlab.training.TrainedModel
    out_dir : str, os.PathLike or None
        Folder of the files; default ``<model_dir>/export``. Files are named
        ``<model folder name><extension>``; the card is ``MODEL_CARD.md``.

    Returns
    -------
    Exported
        ``skipped`` says why each other format was not written.
    """
    from fxlab.export.metadata import measure_cost, model_card, model_metadata

    tm = _load(model_dir)
    out = Path(out_dir) if out_dir is not None else tm.path / "export"
    out.mkdir(parents=True, exist_ok=True)
    meta = model_metadata(tm)
    files, skipped = {}, {}
    for name, fmt in FORMATS.items():
        why = _why_not(fmt, tm)
        if why:
            skipped[name] = why
            continue
        files[name] = out / f"{tm.path.name}{fmt.extension}"
        fmt.write(tm, files[name], meta)
    card_path = out / "MODEL_CARD.md"
    atomic_write(card_path, model_card(tm, meta, files, {n: FORMATS[n].verified_by for n in files},
                                       measure_cost(tm),
                                       about=_about(tm, meta, [FORMATS[n] for n in files])))
    return Exported(files=files, card=card_path, skipped=skipped, meta=meta)


def export_run_model(run_dir, name: str) -> Exported:
    """Export the model ``name`` of a run (``<run_dir>/models/<name>``) to every format it fits.

    Writes into ``<run_dir>/export/<name>/`` (:func:`export_all`). A name that is empty or
    ``"none"``, or a model the run did not train, exports nothing and says so in ``skipped``.

    Parameters
    ----------
    run_dir : str or os.PathLike
        A run folder (``models/`` inside).
    name : str
        A model folder name in ``<run_dir>/models`` (notebook 05: the recommended ``lstm``).
    """
    run = Path(run_dir)
    if name in ("", "none"):
        return Exported(files={}, card=None, skipped={"all": "no model asked for (export_model='')"})
    folder = run / "models" / name
    if not (folder / "model.keras").exists():
        return Exported(files={}, card=None, skipped={"all": f"this run trained no {name!r} ({folder})"})
    return export_all(folder, run / "export" / name)
