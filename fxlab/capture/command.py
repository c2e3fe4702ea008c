"""Training on a user's own dry/wet recording, and the ``fxlab train`` and ``fxlab reamp-signal`` commands.

- :func:`train_on_pair`         check and align the pair, report on it, train, grade the result
- :func:`add_train_arguments`   the ``fxlab train`` options
- :func:`run_train_command`     ``fxlab train`` itself
- :func:`add_reamp_arguments`, :func:`run_reamp_command`   ``fxlab reamp-signal OUT.wav``

A model folder trained this way holds, beside the training's own files (``model.keras``,
``config.json``, ``history.csv``, ``summary.json``): ``pair.json`` (the files, the split, the
alignment), ``alignment.json`` and ``alignment.png`` (the latency and its evidence, when it was
measured: the response's onset, or the reamp signal's clicks), ``data_report.json``
(:func:`fxlab.capture.report.pair_report`) and ``grade.json``
(:func:`fxlab.capture.report.grade`: the held-out ESR measured in step, the latency removed and
the level range trained on).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fxlab.capture.alignment import NONLINEAR_RESIDUAL
from fxlab.capture.pairs import load_pair
from fxlab.capture.reamp import DEFAULT_SECONDS, MIN_SECONDS, write_reamp_signal
from fxlab.capture.report import format_report, grade, pair_report, silence_check
from fxlab.errors import LatencyUncertainError, ParameterError, problem
from fxlab.models import MODEL_NAMES, family_of
from fxlab.models.graybox_fit import linear_fit_esr
from fxlab.training.config import TrainConfig
from fxlab.training.history import read_history
from fxlab.training.loop import train
from fxlab.training.study import GRAYBOX_SEGMENT, GRAYBOX_WARMUP
from fxlab.training.trained import TrainedModel
from fxlab.util import atomic_write

__all__ = ["add_reamp_arguments", "add_train_arguments", "run_reamp_command", "run_train_command",
           "train_on_pair"]


def _write_alignment(out: Path, pair) -> None:
    from fxlab.plots.capture import plot_click_alignment, plot_latency_evidence
    from fxlab.plots.common import save_figure

    ms = 1000 * pair.offset_samples / pair.sr
    if pair.clicks is not None:
        doc = {"latency_samples": int(pair.offset_samples), "latency_ms": ms,
               **pair.clicks.to_dict()}
        fig = plot_click_alignment(
            pair.clicks, sr=pair.sr, title=f"latency {pair.offset_samples} samples ({ms:.2f} ms), "
                                           "from the reamp signal's clicks",
            caption="The wet recording around each click of the reamp signal: the onset is the "
                    "first sample above the background before the click (dashed: the threshold, "
                    "twice the background's largest departure; none over digital silence).")
    else:
        est = pair.latency
        doc = {"latency_samples": int(pair.offset_samples), "latency_ms": ms,
               "method": "onset of the response: latest start of a causal fit within "
                         f"{100 * est.margin:g} % of the best fit's residual "
                         "(fxlab.capture.alignment.estimate_latency)", **est.to_dict()}
        fig = plot_latency_evidence(
            est, sr=pair.sr, title=f"latency {pair.offset_samples} samples ({ms:.2f} ms)",
            caption="Top: the estimated impulse response of wet against dry around its onset. "
                    "Bottom: how well a causal response starting at each lag fits the wet signal; "
                    "the latency is the latest start that fits within the margin of the best.")
    atomic_write(out / "alignment.json", json.dumps(doc, indent=2))
    save_figure(fig, out / "alignment.png")


def _graybox_settings(overrides: dict, *, linear: bool, log) -> dict:
    """The gray-box emulator's training settings for a pair, where the user set none: the linear
    EQ alone for a linear pair (``shaper=0``, a small learning rate: its closed-form fit is
    already near the answer), else the Wiener--Hammerstein chain with 8 tanh units (Adam 1e-2,
    per-segment ESR); long segments either way (:data:`fxlab.training.study.GRAYBOX_SEGMENT`)."""
    out = dict(overrides)
    params = dict(out.get("model_params") or {})
    if "shaper" not in params:
        params["shaper"] = 0 if linear else 8
        log(f"  graybox: {'the linear EQ alone (the pair is linear)' if linear else 'EQ, drive, a static curve of 8 tanh units, EQ (the pair is not linear)'}")
    out["model_params"] = params
    nonlinear = params["shaper"] > 0
    defaults = {"segment": GRAYBOX_SEGMENT, "warmup": GRAYBOX_WARMUP, "batch_size": 4,
                "learning_rate": 3e-3 if nonlinear else 1e-4, "lr_schedule": "cosine"}
    if nonlinear:
        defaults.update(loss="esr_seg", clipnorm=1.0)
    return {**defaults, **out}


def _splits(pair, holdout: float) -> dict[str, tuple[int, int]]:
    """``{"train": (start, end), "val": (start, end)}`` in the aligned pair, samples."""
    if pair.reamp is not None:
        return {"train": pair.reamp.train, "val": pair.reamp.takes[0]}
    cut = int(round(pair.n * (1.0 - float(holdout))))
    return {"train": (0, cut), "val": (cut, pair.n)}


def train_on_pair(dry_path, wet_path, out_dir, *, model: str = "lstm", holdout: float = 0.2,
                  epochs: int = 100, minutes: float = 0.0, resume: bool = False, sr: int | None = None,
                  align: str = "correct", latency: int | None = None, wet2_path=None,
                  verbose: int = 1, log: Callable[[str], Any] = print, **overrides) -> TrainedModel:
    """Train ``model`` on a user's dry/wet pair, holding out its last ``holdout``; report and grade.

    The pair is read, checked and aligned by :func:`fxlab.capture.pairs.load_pair` (``align``,
    ``latency``: its errors are raised as they are: a latency it cannot trust is asked for, not
    applied); the data report (:func:`fxlab.capture.report.pair_report`, with ``wet2_path`` a
    second take for the noise floor) is logged and written, the model trained (the best epoch by
    the held-out split is kept), and the held-out ESR graded
    (:func:`fxlab.capture.report.grade`): ``tm.grade`` holds it. When the dry file is fxlab's
    reamp signal (``fxlab reamp-signal``), the latency comes from its clicks, the model trains on
    its body and is graded on its first validation take, and its two takes give the noise floor
    (``holdout`` and ``wet2_path`` are not needed).

    The grade is what a player hears: the held-out output is compared with the effect's sample
    for sample, with only the measured latency (>= 0) removed, which the model card states
    (the model answers at once; a host that lines it up with the gear's own recording delays it
    by that many samples).

    Parameters
    ----------
    dry_path, wet_path : path
        The effect's input and output recordings.
    out_dir : path
        The model folder.
    holdout : float in (0, 0.5]
        Fraction at the end kept as the ``val`` split (not used with the reamp signal).
    minutes : float >= 0
        Training-time budget (0: none), passed to :class:`TrainConfig` ``max_minutes``.
    align : {"correct", "check", "off"}
        As in :func:`fxlab.capture.pairs.load_pair`.
    latency : int or None
        The latency in samples, when known (not measured then).
    wet2_path : path or None
        A second take of the same dry signal through the effect.
    overrides
        :class:`TrainConfig` fields (``model_params={"units": 16}``, ``loss=...``).
    """
    if not 0.0 < float(holdout) <= 0.5:
        raise ParameterError(problem(f"holdout={holdout!r}", found=repr(holdout),
                                     expected="a fraction in (0, 0.5]", fix="use e.g. 0.2"))
    pair = load_pair(dry_path, wet_path, sr=sr, align=align, latency=latency)
    pair2 = None
    if wet2_path is not None:
        try:
            pair2 = load_pair(dry_path, wet2_path, sr=sr, align=align, latency=latency)
        except LatencyUncertainError:  # a noisier take: the same chain, the first take's latency
            pair2 = load_pair(dry_path, wet2_path, sr=sr, align=align, latency=pair.offset_samples)
            pair.notes.append(f"{Path(wet2_path).name}: its latency could not be measured with "
                              f"confidence; the first take's ({pair.offset_samples:+d}) used")
    dry, wet = np.asarray(pair.dry, np.float32), np.asarray(pair.wet, np.float32)
    splits = _splits(pair, holdout)
    lo, hi = splits["train"]
    linear_esr = linear_fit_esr(dry[lo:hi], wet[lo:hi])
    if model == "graybox":
        overrides = _graybox_settings(overrides, linear=linear_esr <= NONLINEAR_RESIDUAL, log=log)
    segment = overrides.get("segment", TrainConfig.segment)
    sizes = {k: hi - lo for k, (lo, hi) in splits.items()}
    if family_of(model) == "sample" and min(sizes.values()) < segment:
        raise ParameterError(problem(
            f"{dry_path} ({dry.size} samples)",
            found=f"{sizes['train']} training / {sizes['val']} held-out samples",
            expected=f"at least segment={segment} samples in each part",
            fix="use a longer recording or pass a shorter segment"))
    report = pair_report(pair, wet2=pair2, train_fraction=1.0 - float(holdout))
    report.update(linear_fit_esr=linear_esr, linear=bool(linear_esr <= NONLINEAR_RESIDUAL))
    for line in [*pair.notes, *format_report(report)]:
        log(line)
    if report["linear"] and model != "graybox":
        log(f"  the pair is linear (the best linear filter leaves ESR {linear_esr:.2g}): a linear "
            "emulator holds it at every level, where a network knows only the levels it was "
            "shown; recommended: `fxlab train --model graybox` (a parametric EQ fitted in closed "
            "form, seconds to train, ~0.1 µs per sample)")
    config = TrainConfig(model=model, epochs=epochs, max_minutes=minutes,
                         loss=overrides.pop("loss", "esr" if family_of(model) == "sample" else "mse"),
                         **overrides)
    data = {k: (dry[lo:hi], wet[lo:hi]) for k, (lo, hi) in splits.items()}
    tm = train(data, out_dir, config, resume=resume, verbose=verbose, log=log, sr=pair.sr)
    out = Path(out_dir)
    info = {"dry": str(dry_path), "wet": str(wet_path), "wet2": None if wet2_path is None else str(wet2_path),
            "sr": int(pair.sr), "holdout": None if pair.reamp is not None else float(holdout),
            "train_samples": sizes["train"], "val_samples": sizes["val"],
            "splits": {k: list(v) for k, v in splits.items()}, "align": align,
            "latency_samples": int(pair.offset_samples), "latency_from": report["latency_from"],
            "latency_measured": pair.latency is not None or pair.clicks is not None,
            "reamp": report["reamp"], "notes": pair.notes}
    atomic_write(out / "pair.json", json.dumps(info, indent=2))
    atomic_write(out / "data_report.json", json.dumps(report, indent=2, default=float))
    if pair.latency is not None or pair.clicks is not None:
        _write_alignment(out, pair)
    held_out = float(tm.summary.get("best", {}).get("val_esr", float("nan")))
    val_lo, val_hi = splits["val"]
    silence = silence_check(tm, dry[val_lo:val_hi], wet[val_lo:val_hi], sr=pair.sr,
                            train_peak_dbfs=(report.get("train_dry_levels") or {}).get("peak_dbfs"))
    tm.grade = grade(held_out, floor=report.get("floor_esr"), history=read_history(out),
                     summary=tm.summary, report=report, silence=silence)
    atomic_write(out / "grade.json", json.dumps(tm.grade, indent=2))
    return tm


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``fxlab train`` options to ``parser`` (see :func:`run_train_command`)."""
    parser.add_argument("--dry", required=True, help="dry (input) WAV file")
    parser.add_argument("--wet", required=True, help="wet (effect output) WAV file, same length and rate")
    parser.add_argument("--wet2", default=None,
                        help="a second wet take of the same dry file: measures the noise floor")
    parser.add_argument("--model", default="lstm", help=f"model name: {', '.join(MODEL_NAMES)} (default lstm)")
    parser.add_argument("--out", required=True, help="model folder to write (e.g. models/mine)")
    parser.add_argument("--align", default="correct", choices=("correct", "check", "off"),
                        help="correct: measure the latency (onset of the response) and remove it "
                             "(default); check: refuse a pair with latency; off: do not look")
    parser.add_argument("--latency", type=int, default=None,
                        help="the latency in samples, when you know it (wet behind dry); not measured then")
    parser.add_argument("--epochs", type=int, default=100, help="maximum epochs (default 100)")
    parser.add_argument("--minutes", type=float, default=0.0, help="training-time budget in minutes (0: none)")
    parser.add_argument("--resume", action="store_true", help="continue from the folder's checkpoint")
    parser.add_argument("--units", type=int, default=None, help="recurrent units (lstm/gru, thesis RNNs)")
    parser.add_argument("--layers", type=int, default=None, help="recurrent layers (lstm/gru) or TCN layers")
    parser.add_argument("--shaper", type=int, default=None,
                        help="graybox: tanh units of its static curve (0: a linear EQ alone; "
                             "default: 0 for a linear pair, else 8)")
    parser.add_argument("--odd", action="store_true",
                        help="the gear is odd-symmetric (a symmetric clipper: f(-x) = -f(x)): build the "
                             "lstm/gru/tcn odd by construction, no even harmonics, no DC (twice the compute; "
                             "no player format exports it)")
    parser.add_argument("--loss", default=None, help="loss spec, e.g. 'esr' or '0.75*esr_pre+0.25*dc'")
    parser.add_argument("--lr", type=float, default=None, help="initial learning rate")
    parser.add_argument("--batch-size", type=int, default=None, help="segments or windows per step")
    parser.add_argument("--segment", type=int, default=None, help="segment length in samples (sample-level)")
    parser.add_argument("--holdout", type=float, default=0.2, help="fraction at the end held out (default 0.2)")
    parser.add_argument("--sr", type=int, default=None, help="sample rate to resample both files to")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--export", default=None, metavar="FORMAT",
                        help="after training, export to aidax, rtneural, nam, onnx, tflite or all "
                             "(as `fxlab export`)")
    return parser


def run_train_command(args: argparse.Namespace) -> int:
    """Run ``fxlab train`` from parsed arguments; prints the summary and the grade; returns 0.

    With ``--export FORMAT`` the format is checked before training (an unknown name fails at
    once) and the trained model is exported into ``<out>/export/`` (see :mod:`fxlab.export`).
    """
    fmt = getattr(args, "export", None)
    if fmt is not None and fmt != "all":
        from fxlab.errors import unknown_name
        from fxlab.export import FORMAT_NAMES

        if fmt not in FORMAT_NAMES:
            raise unknown_name("export format", fmt, [*FORMAT_NAMES, "all"])
        if getattr(args, "odd", False):
            from fxlab.errors import ParameterError, problem
            from fxlab.export import ODD_REFUSAL

            raise ParameterError(problem(f"--odd with --export {fmt}", found=ODD_REFUSAL,
                                         expected="--odd without --export, or --export without --odd",
                                         fix="drop --export (fxlab's runtime plays the model: fxlab.runtime.stream_file) or drop --odd"))
    model_params = {k: v for k, v in (("units", args.units), ("layers", args.layers),
                                      ("shaper", getattr(args, "shaper", None))) if v is not None}
    if getattr(args, "odd", False):
        model_params["odd"] = 1
    overrides = {k: v for k, v in (("loss", args.loss), ("learning_rate", args.lr),
                                   ("batch_size", args.batch_size), ("segment", args.segment))
                 if v is not None}
    tm = train_on_pair(args.dry, args.wet, args.out, model=args.model, holdout=args.holdout,
                       epochs=args.epochs, minutes=args.minutes, resume=args.resume, sr=args.sr,
                       align=getattr(args, "align", "correct"), latency=getattr(args, "latency", None),
                       wet2_path=getattr(args, "wet2", None),
                       model_params=model_params, seed=args.seed, **overrides)
    s = tm.summary
    best = s.get("best", {})
    print(f"trained {tm.name} ({tm.param_count} parameters) into {args.out}: {s['epochs_run']} epochs "
          f"({s['stopped']}), best epoch {s['best_epoch']}, held-out ESR {best.get('val_esr', float('nan')):.3g}, "
          f"{s['wall_s']:.0f} s")
    print(f"grade: {tm.grade['text']}")
    if fmt is not None:
        from fxlab import export

        result = export.export_all(tm) if fmt == "all" else export.export(tm, fmt)
        for name, path in result.files.items():
            print(f"exported {name}: {path}")
        for name, why in result.skipped.items():
            print(f"not exported {name}: {why}")
        print(f"model card: {result.card}")
    return 0


def add_reamp_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``fxlab reamp-signal`` options to ``parser`` (see :func:`run_reamp_command`)."""
    parser.add_argument("out", metavar="OUT.wav", help="the WAV file to write (24-bit PCM)")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS,
                        help=f"length in seconds (default {DEFAULT_SECONDS:g}, at least {MIN_SECONDS:g})")
    parser.add_argument("--rate", type=int, default=48_000,
                        help="sample rate, Hz: your DAW session's (default 48000)")
    return parser


def run_reamp_command(args: argparse.Namespace) -> int:
    """Write the reamp signal and say how to use it; returns 0."""
    layout = write_reamp_signal(args.out, seconds=args.seconds, sr=args.rate)
    sr = layout.sr
    print(f"wrote {args.out}: fxlab's reamp signal, {layout.n / sr:.1f} s at {sr} Hz, 24-bit")
    print(f"  {len(layout.clicks)} calibration clicks at "
          f"{', '.join(f'{c / sr:.2f}' for c in layout.clicks)} s (they give the latency exactly); "
          f"training material {layout.train[0] / sr:.1f}-{layout.train[1] / sr:.1f} s; the "
          f"validation stretch twice, {layout.takes[0][0] / sr:.1f}-{layout.takes[1][1] / sr:.1f} s")
    print("  play it through your effect from its very start and record the output (mono, same "
          "rate, no normalising, no noise gate), then:")
    print(f"  fxlab train --dry {args.out} --wet YOUR_RECORDING.wav --model lstm --out models/mine")
    return 0
