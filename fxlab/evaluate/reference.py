"""fxlab's reference reproduction of the thesis's networks: its small results, shipped with fxlab.

The ``thesis`` profile trains the thesis's networks at the thesis's sizes once, on the strongest
machine at hand (``fxlab run --profile thesis --run-id thesis-ref``). Its weights stay with that
run; what every report shows of it -- each network's score on the thesis's measure, its training
(windows seen, epochs, wall time) and learning curve, the command, the code's commit and the
machine -- is exported to one small JSON file inside the package, ``fxlab/data/reference/
thesis-ref.json``, and shown beside each run's own rows and the thesis's figures.

- :func:`export_reference`   a finished reference run folder -> the JSON document (and the file)
- :func:`load_reference`     the shipped document, or ``None`` when none is shipped
- :func:`learning_curve`     a model folder's history with the windows seen so far per epoch
- :data:`REFERENCE_FILE`     where it is shipped

Export after the run (steps 01-03 at least) with
``python -m fxlab.evaluate.reference reports/thesis-ref --commit <hash> --command "<how it ran>"``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
from importlib import resources
from pathlib import Path
from typing import Any

from fxlab.errors import PipelineError, problem
from fxlab.evaluate.thesis import COMBINED_ORDER, combined_measure
from fxlab.util import write_json

__all__ = ["REFERENCE_FILE", "export_reference", "learning_curve", "load_reference"]

#: The shipped reference results, relative to the ``fxlab`` package.
REFERENCE_FILE = "data/reference/thesis-ref.json"


def learning_curve(model_dir: Path) -> list[dict[str, float]]:
    """The learning curve: per epoch the windows seen so far, wall time and validation losses."""
    from fxlab.training.history import read_history

    if not (model_dir / "history.csv").exists():
        return []
    rows, seen = [], 0
    for r in read_history(model_dir):
        seen += int(r.get("train_samples", 0))
        rows.append({"epoch": int(r["epoch"]), "windows_seen": seen, "wall_s": r.get("wall_s", 0.0),
                     **{k: r[k] for k in ("loss", "val1_loss", "val2_loss", "val1_esr", "val2_esr")
                        if k in r}})
    return rows


def _excerpt_measure(run: Path, result: dict, excerpt_seconds: float) -> dict[str, Any]:
    """The thesis's measure on the loudest ``excerpt_seconds`` of each clip, from the rendered WAVs.

    For a run evaluated before ``metrics.json`` carried ``combined_excerpts``: the same
    :func:`fxlab.evaluate.thesis.combined_measure`, fed the outputs step 03 wrote
    (``rendered/<model>/<split>.wav``, from ``start_s``) and the whole targets
    (``rendered/target/<split>.wav``).
    """
    import soundfile as sf

    sr = int(result["sr"])
    splits = [s for s in COMBINED_ORDER if all(s in e["splits"] for e in result["models"].values())]
    try:
        clips = {s: sf.read(run / "rendered" / "target" / f"{s}.wav", dtype="float32")[0]
                 for s in splits}
        outputs = {}
        for name, e in result["models"].items():
            outputs[name] = {}
            for s in splits:
                y = sf.read(run / "rendered" / name / f"{s}.wav", dtype="float32")[0]
                start = round(e["splits"][s]["start_s"] * sr)
                outputs[name][s] = (clips[s][start:start + y.size], y)
    except (OSError, RuntimeError) as err:  # soundfile's LibsndfileError is a RuntimeError
        raise PipelineError(problem(
            run / "rendered", found=f"unreadable rendered audio ({err})",
            expected="the WAVs step 03 writes", fix="rerun step 03 of the reference run")) from err
    return combined_measure(result, outputs, splits=splits, sr=sr,
                            excerpt_seconds=excerpt_seconds, clips=clips)


def export_reference(run_dir: str | os.PathLike, *, commit: str, command: str,
                     out: str | os.PathLike | None = None, machine: dict | None = None,
                     excerpt_seconds: float = 0.05) -> dict[str, Any]:
    """Gather a finished ``thesis`` run's small results into one JSON document.

    Parameters
    ----------
    run_dir : path
        The run folder (``metrics.json``, ``models/<name>/summary.json`` and ``history.csv``).
    commit : str
        The commit of the code that trained it.
    command : str
        The exact command that ran it.
    out : path, optional
        Where to write it (default: the package's :data:`REFERENCE_FILE`).
    machine : dict, optional
        The machine that trained it, when it is not the one exporting (e.g. ``{"processor":
        "NVIDIA H100 80GB HBM3", "cpus": 16, "platform": "..."}``); default: this machine.
    excerpt_seconds : float > 0
        The stretch of ``combined_excerpts`` when ``metrics.json`` lacks it (see
        :func:`fxlab.evaluate.thesis.combined_measure`); the quick profile's excerpt length.

    Returns
    -------
    dict
        ``run_id``, ``command``, ``commit``, ``machine``, ``exported``, ``wall_s`` (training, all
        networks), ``combined_definition``/``_stretches`` and ``combined_excerpts_definition``/
        ``_stretches``, and per model ``combined`` (on the run's own stretch), ``combined_excerpts``
        (on the loudest ``excerpt_seconds`` of each clip), ``splits`` (MSE/ESR per clip),
        ``param_count``, ``training`` and ``history``.
    """
    run = Path(run_dir)
    mpath = run / "metrics.json"
    if not mpath.exists():
        raise PipelineError(problem(
            mpath, found="no metrics.json", expected="a reference run evaluated by step 03",
            fix=f"fxlab run --profile thesis --run-id {run.name} (steps 01-03), then export"))
    result = json.loads(mpath.read_text())
    run_json = json.loads((run / "run.json").read_text()) if (run / "run.json").exists() else {}
    combined = result.get("combined", {})
    excerpts = result.get("combined_excerpts") or _excerpt_measure(run, result, excerpt_seconds)
    models: dict[str, Any] = {}
    for name, e in result["models"].items():
        summary_path = run / "models" / name / "summary.json"
        s = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        config_path = run / "models" / name / "config.json"
        train_cfg = json.loads(config_path.read_text()).get("train", {}) if config_path.exists() else {}
        history = learning_curve(run / "models" / name)
        models[name] = {
            "family": e["family"], "param_count": e["param_count"],
            "combined": combined.get("models", {}).get(name),
            "combined_excerpts": excerpts.get("models", {}).get(name),
            "splits": {k: {m: v[m] for m in ("mse", "esr", "start_s", "seconds", "whole_clip")}
                       for k, v in e["splits"].items()},
            "training": {"family": e["family"], "epochs_run": s.get("epochs_run"),
                         "stopped": s.get("stopped"),
                         "best_epoch": s.get("best_epoch"), "wall_s": s.get("wall_s"),
                         "windows_seen": history[-1]["windows_seen"] if history else None,
                         "settings": {k: train_cfg.get(k) for k in ("model_params", "batch_size",
                                                                    "learning_rate",
                                                                    "windows_per_epoch", "epochs",
                                                                    "max_minutes")}},
            "history": history,
        }
    doc = {
        "run_id": run.name, "profile": run_json.get("profile", "thesis"), "command": command,
        "commit": commit, "versions": run_json.get("versions", {}),
        "machine": dict(machine) if machine else {
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "platform": platform.platform()},
        "exported": _dt.date.today().isoformat(),
        "wall_s": sum((m["training"]["wall_s"] or 0.0) for m in models.values()),
        "combined_definition": combined.get("definition"),
        "combined_stretches": combined.get("stretches"),
        "combined_excerpts_definition": excerpts.get("definition"),
        "combined_excerpts_stretches": excerpts.get("stretches"),
        "models": models,
    }
    target = Path(out) if out is not None else Path(__file__).resolve().parent.parent / REFERENCE_FILE
    write_json(target, doc)
    return doc


def load_reference() -> dict[str, Any] | None:
    """The reference results shipped with fxlab (:data:`REFERENCE_FILE`), or ``None``."""
    path = resources.files("fxlab").joinpath(REFERENCE_FILE)
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    """``python -m fxlab.evaluate.reference RUN_DIR --commit HASH --command "..."``."""
    ap = argparse.ArgumentParser(prog="python -m fxlab.evaluate.reference",
                                 description="export a reference run's small results")
    ap.add_argument("run_dir")
    ap.add_argument("--commit", required=True, help="commit of the code that trained it")
    ap.add_argument("--command", required=True, help="the exact command that ran it")
    ap.add_argument("--out", default=None, help=f"output file (default: fxlab/{REFERENCE_FILE})")
    ap.add_argument("--machine", default=None,
                    help="the machine that trained it, as JSON, when not this one, e.g. "
                         '\'{"processor": "NVIDIA H100 80GB HBM3", "cpus": 16}\'')
    args = ap.parse_args(argv)
    machine = json.loads(args.machine) if args.machine else None
    doc = export_reference(args.run_dir, commit=args.commit, command=args.command, out=args.out,
                           machine=machine)
    print(f"exported {len(doc['models'])} models of {doc['run_id']}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
