"""The ``fxlab`` command.

::

    fxlab run [--profile quick|paper|full|tiny|FILE.yaml] [--steps 01,02 ...] [--run-id ID]
              [-p NAME VALUE ...] [-f params.yaml ...] [--reports DIR]
    fxlab sweep SPEC.yaml [--workers N] [--scheduler ADDRESS] [--sweep-id ID] [--reports DIR]
    fxlab reamp-signal OUT.wav [--seconds 90] [--rate 48000]   the dry file to play through your gear
    fxlab train --dry my_dry.wav --wet my_wet.wav --model lstm --out models/mine [--export FORMAT] [...]
    fxlab export MODEL_DIR --format aidax|rtneural|nam|onnx|tflite|graybox|all [--out FILE_OR_DIR]
    fxlab profiles              list the profiles and what they are for
    fxlab effects [NAME ...]    list the effects; with names, each one's knobs (range, unit, default)
    fxlab params [--steps ...]  list every notebook parameter and its default
    fxlab listen [RUN] [--port 8866] [--ip 127.0.0.1] [--no-browser] [-p NAME VALUE ...]
                                serve the listening test to raters as a web page (Voilà)

``-p`` and ``-f`` work as papermill's own: ``-p`` values are parsed (numbers, True/False/None),
``-f`` is a YAML file of ``name: value`` lines; a name that no selected step declares is an error.
``fxlab listen`` serves the blind A/B test and the ABX test of a run folder (default
``reports/latest``) as a page without code; ``-p`` sets the page's other parameters (e.g.
``-p abx_trials 10``); see :mod:`fxlab.listening.server`.
``fxlab sweep`` runs one pipeline run per point of the spec on Dask workers (a LocalCluster of
``--workers`` processes, or the cluster at ``--scheduler``) and writes ``reports/<sweep-id>/sweep.html``;
see :mod:`fxlab.sweep`.
Exit status: 0 when every step (every point) succeeded, 1 when a step or a point failed (the report
says which), 2 for a usage error (an unknown profile, step or parameter, a malformed spec), 130 when
``fxlab sweep`` was stopped with Ctrl-C (its unfinished points are marked ``interrupted``; the same
command resumes them).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from fxlab.errors import FxlabError

__all__ = ["main"]


def _run(args: argparse.Namespace) -> int:
    from fxlab import pipeline

    overrides = {name: pipeline.parse_value(value) for name, value in args.param or []}
    result = pipeline.run(args.profile, steps=args.steps, run_id=args.run_id, overrides=overrides,
                          param_files=args.param_file, reports_dir=args.reports)
    print(f"report: {result.report}")
    if not result.ok:
        bad = result.failed_step
        print(f"fxlab run: step {bad.name} {bad.status}: {bad.error}", file=sys.stderr)
        return 1
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from fxlab.sweep import SweepInterrupted, run_sweep

    try:
        result = run_sweep(args.spec, sweep_id=args.sweep_id, reports_dir=args.reports,
                           workers=args.workers, scheduler=args.scheduler)
    except SweepInterrupted as stop:
        r = stop.result
        again = ["fxlab", "sweep", args.spec, "--sweep-id", r.sweep_id]
        for flag, value in (("--reports", args.reports if args.reports != "reports" else None),
                            ("--scheduler", args.scheduler), ("--workers", args.workers)):
            if value is not None:
                again += [flag, str(value)]
        print(f"fxlab sweep: interrupted; {len(r.interrupted)} points not finished are marked "
              f"'interrupted' in {r.sweep_dir / 'sweep.json'}", file=sys.stderr)
        print(f"fxlab sweep: to resume them (finished points are skipped): {shlex.join(again)}",
              file=sys.stderr)
        return 130
    print(f"sweep report: {result.report}")
    if not result.ok:
        for name in result.failed:
            print(f"fxlab sweep: point {name} failed: {result.points[name].get('error')}", file=sys.stderr)
        if result.compare_error:
            print(f"fxlab sweep: the comparison failed: {result.compare_error}", file=sys.stderr)
        return 1
    return 0


def _profiles(args: argparse.Namespace) -> int:
    from fxlab import pipeline

    for name in pipeline.list_profiles():
        prof = pipeline.load_profile(name)
        print(f"{name:8s} {prof.description}")
    return 0


def _effects(args: argparse.Namespace) -> int:
    from fxlab.effects import get_effect, list_effects

    if not args.names:
        print("effects (fxlab effects NAME for its knobs; vst3 takes path=..., lv2 uri=...):")
        for name in list_effects():
            print(f"  {name}")
        return 0
    for name in args.names:
        fx = get_effect(name)
        print(f"{name}: {fx.describe()}")
        if not fx.knobs:
            print("  no knobs declared (its parameters are still settable by name)")
        for k in fx.knobs:
            print(f"  {k.name:14s} [{k.low:g}, {k.high:g}] {k.unit or '':3s} {k.scale:6s} default {k.default:g}")
    return 0


def _params(args: argparse.Namespace) -> int:
    from fxlab import pipeline

    steps = pipeline._select_steps(pipeline.load_profile("quick"), args.steps)
    for step in steps:
        print(step)
        for name, default in pipeline.notebook_parameters(step).items():
            print(f"    {name} = {default!r}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from fxlab import export

    if args.format == "all":
        result = export.export_all(args.model_dir, args.out)
        for name, why in result.skipped.items():
            print(f"{name}: not exported ({why})")
    else:
        result = export.export(args.model_dir, args.format, args.out)
    for name, path in result.files.items():
        print(f"{name}: {path}")
    print(f"card: {result.card}")
    return 0


def _listen(args: argparse.Namespace) -> int:
    from fxlab import pipeline
    from fxlab.listening.server import serve

    overrides = {name: pipeline.parse_value(value) for name, value in args.param or []}
    return serve(args.run, port=args.port, ip=args.ip, open_browser=not args.no_browser,
                 overrides=overrides)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; ``fxlab train``'s options are loaded only when ``argv`` asks for it
    (importing the training module imports TensorFlow, which takes seconds)."""
    parser = argparse.ArgumentParser(prog="fxlab", description="fxlab: neural audio-effect emulation study")
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run the study's notebooks with papermill and build the report")
    r.add_argument("--profile", default="quick", help="quick (default), paper, full, tiny, or a YAML path")
    r.add_argument("--steps", nargs="+", help="steps to run, e.g. 01 02 or 01_synthesize_data,02_train")
    r.add_argument("--run-id", help="name of the run folder under the reports folder (default: profile-date)")
    r.add_argument("-p", "--parameter", dest="param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="override a notebook parameter (repeatable)")
    r.add_argument("-f", "--parameters-file", dest="param_file", action="append", metavar="FILE",
                   help="YAML file of parameter overrides (repeatable)")
    r.add_argument("--reports", default="reports", help="reports folder (default: ./reports)")
    r.set_defaults(func=_run)

    w = sub.add_parser("sweep", help="run a parameter sweep (many runs) on Dask and compare the points")
    w.add_argument("spec", help="the sweep spec (YAML): profile, steps, parameters, grid and/or points")
    w.add_argument("--workers", type=int, help="worker processes of the local cluster (default: the cores)")
    w.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://host:8786) instead")
    w.add_argument("--sweep-id", help="name of the sweep folder (default: the spec file's name); "
                                      "rerunning an id skips its finished points")
    w.add_argument("--reports", default="reports", help="reports folder (default: ./reports)")
    w.set_defaults(func=_sweep)

    t = sub.add_parser("train", help="train a model on your own dry/wet recording pair")
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["train"]:  # importing the training module imports TensorFlow: only when asked
        from fxlab.capture.command import add_train_arguments, run_train_command

        add_train_arguments(t)
        t.set_defaults(func=run_train_command)

    a = sub.add_parser("reamp-signal", help="write the dry signal to play through your gear "
                       "(calibration clicks, sweeps, noise, instruments, two validation takes)")
    if given[:1] == ["reamp-signal"]:
        from fxlab.capture.command import add_reamp_arguments, run_reamp_command

        add_reamp_arguments(a)
        a.set_defaults(func=run_reamp_command)

    e = sub.add_parser("export", help="export a trained model to a real-time player's format")
    e.add_argument("model_dir", metavar="MODEL_DIR", help="model folder (model.keras, config.json)")
    e.add_argument("--format", required=True, help="aidax, rtneural, nam, onnx, tflite, graybox "
                   "(the gray-box emulator's JSON), or all (every format the model fits)")
    e.add_argument("--out", default=None, help="file to write (a folder for --format all); "
                   "default MODEL_DIR/export/")
    e.set_defaults(func=_export)

    p = sub.add_parser("profiles", help="list the profiles")
    p.set_defaults(func=_profiles)
    f = sub.add_parser("effects", help="list the effects, or the knobs of the ones named")
    f.add_argument("names", nargs="*")
    f.set_defaults(func=_effects)
    q = sub.add_parser("params", help="list the notebooks' parameters and their defaults")
    q.add_argument("--steps", nargs="+")
    q.set_defaults(func=_params)

    n = sub.add_parser("listen", help="serve the listening test (A/B and ABX) to raters as a web "
                       "page without code (needs the 'listen' extra: Voilà)")
    n.add_argument("run", nargs="?", default="reports/latest", metavar="RUN",
                   help="run folder with rendered audio (default: reports/latest)")
    n.add_argument("--port", type=int, default=8866, help="port (default: 8866)")
    n.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, "
                   "this machine only; 0.0.0.0 serves a room: anyone on the network can rate)")
    n.add_argument("--no-browser", action="store_true", help="do not open the page here")
    n.add_argument("-p", "--parameter", dest="param", nargs=2, action="append",
                   metavar=("NAME", "VALUE"), help="another parameter of the page, e.g. "
                   "-p abx_trials 10, -p seed 1, -p ratings_path FILE (repeatable)")
    n.set_defaults(func=_listen)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FxlabError as e:
        print(f"fxlab: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
