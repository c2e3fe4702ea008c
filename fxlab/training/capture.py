"""Training on a user's own dry/wet recording, and the ``fxlab train`` command."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fxlab.errors import ParameterError, problem
from fxlab.models import MODEL_NAMES, family_of
from fxlab.training.config import TrainConfig
from fxlab.training.loop import train
from fxlab.training.trained import TrainedModel
from fxlab.util import atomic_write

__all__ = ["add_train_arguments", "run_train_command", "train_on_pair"]




def train_on_pair(dry_path, wet_path, out_dir, *, model: str = "lstm", holdout: float = 0.2,
                  epochs: int = 100, minutes: float = 0.0, resume: bool = False, sr: int | None = None,
                  verbose: int = 1, log: Callable[[str], Any] = print, **overrides) -> TrainedModel:
    """Train ``model`` on a user's dry/wet WAV pair, holding out its last ``holdout`` for validation.

    The pair is read and checked by :func:`fxlab.pairs.load_pair` (sample rates, channels,
    lengths, alignment: its errors are raised as they are). ``holdout`` in (0, 0.5] is the
    fraction at the end kept as the ``val`` split; ``minutes`` > 0 caps training time; ``overrides``
    are :class:`TrainConfig` fields (``model_params={"units": 16}``, ``loss=...``).
    """
    from fxlab.pairs import load_pair

    if not 0.0 < float(holdout) <= 0.5:
        raise ParameterError(problem(f"holdout={holdout!r}", found=repr(holdout),
                                     expected="a fraction in (0, 0.5]", fix="use e.g. 0.2"))
    pair = load_pair(dry_path, wet_path, sr=sr)
    dry, wet = np.asarray(pair.dry, np.float32), np.asarray(pair.wet, np.float32)
    cut = int(round(dry.size * (1.0 - float(holdout))))
    segment = overrides.get("segment", TrainConfig.segment)
    if family_of(model) == "sample" and min(cut, dry.size - cut) < segment:
        raise ParameterError(problem(
            f"{dry_path} ({dry.size} samples)", found=f"{cut} training / {dry.size - cut} held-out samples",
            expected=f"at least segment={segment} samples in each part",
            fix="use a longer recording or pass a shorter segment"))
    config = TrainConfig(model=model, epochs=epochs, max_minutes=minutes,
                         loss=overrides.pop("loss", "esr" if family_of(model) == "sample" else "mse"),
                         **overrides)
    data = {"train": (dry[:cut], wet[:cut]), "val": (dry[cut:], wet[cut:])}
    tm = train(data, out_dir, config, resume=resume, verbose=verbose, log=log)
    info = {"dry": str(dry_path), "wet": str(wet_path), "sr": int(getattr(pair, "sr", sr or 0)),
            "holdout": float(holdout), "train_samples": cut, "val_samples": int(dry.size - cut)}
    atomic_write(Path(out_dir) / "pair.json", json.dumps(info, indent=2))
    return tm


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``fxlab train`` options to ``parser`` (see :func:`run_train_command`)."""
    parser.add_argument("--dry", required=True, help="dry (input) WAV file")
    parser.add_argument("--wet", required=True, help="wet (effect output) WAV file, same length and rate")
    parser.add_argument("--model", default="lstm", help=f"model name: {', '.join(MODEL_NAMES)} (default lstm)")
    parser.add_argument("--out", required=True, help="model folder to write (e.g. models/mine)")
    parser.add_argument("--epochs", type=int, default=100, help="maximum epochs (default 100)")
    parser.add_argument("--minutes", type=float, default=0.0, help="training-time budget in minutes (0: none)")
    parser.add_argument("--resume", action="store_true", help="continue from the folder's checkpoint")
    parser.add_argument("--units", type=int, default=None, help="recurrent units (lstm/gru, thesis RNNs)")
    parser.add_argument("--layers", type=int, default=None, help="recurrent layers (lstm/gru) or TCN layers")
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
    """Run ``fxlab train`` from parsed arguments; prints the summary; returns the exit status 0.

    With ``--export FORMAT`` the format is checked before training (an unknown name fails at
    once) and the trained model is exported into ``<out>/export/`` (see :mod:`fxlab.export`).
    """
    fmt = getattr(args, "export", None)
    if fmt is not None and fmt != "all":
        from fxlab.errors import unknown_name
        from fxlab.export import FORMAT_NAMES

        if fmt not in FORMAT_NAMES:
            raise unknown_name("export format", fmt, [*FORMAT_NAMES, "all"])
    model_params = {k: v for k, v in (("units", args.units), ("layers", args.layers)) if v is not None}
    overrides = {k: v for k, v in (("loss", args.loss), ("learning_rate", args.lr),
                                   ("batch_size", args.batch_size), ("segment", args.segment))
                 if v is not None}
    tm = train_on_pair(args.dry, args.wet, args.out, model=args.model, holdout=args.holdout,
                       epochs=args.epochs, minutes=args.minutes, resume=args.resume, sr=args.sr,
                       model_params=model_params, seed=args.seed, **overrides)
    s = tm.summary
    best = s.get("best", {})
    print(f"trained {tm.name} ({tm.param_count} parameters) into {args.out}: {s['epochs_run']} epochs "
          f"({s['stopped']}), best epoch {s['best_epoch']}, held-out ESR {best.get('val_esr', float('nan')):.3g}, "
          f"{s['wall_s']:.0f} s")
    if fmt is not None:
        from fxlab import export

        result = export.export_all(tm) if fmt == "all" else export.export(tm, fmt)
        for name, path in result.files.items():
            print(f"exported {name}: {path}")
        for name, why in result.skipped.items():
            print(f"not exported {name}: {why}")
        print(f"model card: {result.card}")
    return 0
