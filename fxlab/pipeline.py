"""Run the study: the notebooks in order, with papermill, into one run folder, then the report.

Functions
---------
- :func:`run`               execute the steps of a profile into ``reports/<run-id>/`` and build the report
- :func:`plan`              resolve every step's parameters without running anything (checks names)
- :func:`load_profile`      read ``fxlab/profiles/<name>.yaml``
- :func:`list_profiles`     the profile names
- :func:`notebook_parameters`  the names and defaults a notebook's ``parameters`` cell declares
- :func:`parse_value`       a ``-p NAME VALUE`` string to a Python value, as papermill does

Parameters flow one way: notebook defaults < profile ``parameters`` < profile ``steps.<step>`` <
``-f`` files (in order) < ``-p`` values. A name is passed to every selected step whose notebook
declares it; a name that no selected step declares is an error, never silently ignored.

A step that fails keeps its partial executed notebook (papermill saves after every cell); the steps
after it are skipped, the report still gets built and says which step failed and why, and
:func:`run` returns a result whose ``ok`` is False (the CLI exits 1).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import yaml

from fxlab import __version__, progress
from fxlab.errors import ParameterError, PipelineError, problem, unknown_name
from fxlab.steps import STEPS
from fxlab.util import atomic_write

__all__ = [
    "STEPS",
    "Profile",
    "RunResult",
    "StepResult",
    "list_profiles",
    "load_profile",
    "notebook_parameters",
    "notebooks_dir",
    "parse_value",
    "plan",
    "run",
    "versions",
]

#: Parameters the pipeline itself sets; a profile or override may not.
RESERVED = ("run_dir",)


def notebooks_dir() -> Path:
    """The folder holding the study's notebooks (``$FXLAB_NOTEBOOKS`` or the repository's)."""
    env = os.environ.get("FXLAB_NOTEBOOKS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "notebooks"


def _profiles_dir() -> Path:
    return Path(str(resources.files("fxlab") / "profiles"))


def list_profiles() -> list[str]:
    """Names of the shipped profiles."""
    return sorted(p.stem for p in _profiles_dir().glob("*.yaml"))


@dataclass(frozen=True)
class Profile:
    """A profile: a description, parameters for every step, and the ordered steps with their own."""

    name: str
    description: str
    parameters: dict[str, Any]
    steps: dict[str, dict[str, Any]]
    #: The Keras backend the notebooks run on ("" = Keras's default, TensorFlow; "jax" where
    #: installed). ``KERAS_BACKEND`` in the environment overrides it.
    keras_backend: str = ""
    #: Steps that run on another backend than ``keras_backend`` (step -> "jax" or "tensorflow"):
    #: e.g. training on JAX, the fastest here, while the latency step times TensorFlow's own
    #: engines. A model folder is the same file under either backend.
    step_backends: dict[str, str] = field(default_factory=dict)


def load_profile(name_or_path: str | os.PathLike) -> Profile:
    """Read a profile by name (``quick``, ``paper``, ``full``, ``tiny``) or from a YAML path."""
    p = Path(name_or_path)
    if p.suffix not in (".yaml", ".yml"):
        p = _profiles_dir() / f"{name_or_path}.yaml"
        if not p.exists():
            raise unknown_name("profile", str(name_or_path), list_profiles())
    elif not p.exists():
        raise ParameterError(problem(p, found="no such file", expected="a profile YAML file",
                                     fix=f"give an existing path or one of {', '.join(list_profiles())}"))
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ParameterError(problem(p, found=f"invalid YAML ({e})", expected="a profile mapping",
                                     fix="correct the file's syntax")) from e
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), dict):
        raise ParameterError(problem(p, found="no 'steps' mapping", expected="description, parameters, steps",
                                     fix="see fxlab/profiles/quick.yaml"))
    extra = set(raw) - {"description", "parameters", "steps", "keras_backend"}
    if extra:
        raise ParameterError(problem(p, found=f"unknown keys {sorted(extra)}",
                                     expected="only description, parameters, steps, keras_backend",
                                     fix="move parameters under 'parameters' or 'steps.<step>'"))
    for step in raw["steps"]:
        if step not in STEPS:
            raise unknown_name("step", step, STEPS)
    steps = {s: dict(v or {}) for s, v in raw["steps"].items()}
    backend, step_backends = _read_backends(p, raw.get("keras_backend"))
    return Profile(p.stem, str(raw.get("description", "")).strip(), dict(raw.get("parameters") or {}),
                   steps, backend, step_backends)


def _read_backends(path: Path, raw) -> tuple[str, dict[str, str]]:
    """A profile's ``keras_backend``: one name for every step, or a mapping step -> name (the steps
    not named run on Keras's default)."""
    def check(value, where: str) -> str:
        value = str(value or "")
        if value not in ("", "tensorflow", "jax"):
            raise ParameterError(problem(path, found=f"{where}: {value}", expected="tensorflow or jax",
                                         fix="write keras_backend: jax (every step), a mapping such as "
                                             "{02_train: jax}, or leave it out (TensorFlow)"))
        return value

    if not isinstance(raw, dict):
        return check(raw, "keras_backend"), {}
    for step in raw:
        if step not in STEPS:
            raise unknown_name("step", step, STEPS)
    return "", {str(step): check(b, f"keras_backend.{step}") for step, b in raw.items()}


def _keras_backend(prof: Profile, step: str | None = None) -> tuple[str, str]:
    """(the backend a step's notebook gets, why): the environment's ``KERAS_BACKEND``, else the
    profile's for that step where installed, else TensorFlow."""
    import importlib.util

    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND in the environment"
    asked = prof.step_backends.get(step, prof.keras_backend) if step else prof.keras_backend
    if asked == "jax":
        if importlib.util.find_spec("jax") is None:
            return "tensorflow", ("the profile asks for JAX, which is not installed (pip install -e "
                                  "'.[jax]'): running on TensorFlow, slower")
        return "jax", "the profile's keras_backend"
    return "tensorflow", "Keras's default" if not asked else "the profile's keras_backend"


def _backends_of(prof: Profile, steps) -> tuple[dict[str, str], str, str]:
    """Each step's backend, and the run's in words with why (one name when every step has the
    same: "jax for 02_train, tensorflow for the rest" otherwise)."""
    per = {s: _keras_backend(prof, s) for s in steps}
    names = {b for b, _ in per.values()}
    whys = sorted({w for _, w in per.values()})
    if len(names) <= 1:
        return {s: b for s, (b, _) in per.items()}, next(iter(names), "tensorflow"), "; ".join(whys)
    common = max(names, key=lambda b: sum(v == b for v, _ in per.values()))
    others = ", ".join(f"{b} for {s}" for s, (b, _) in per.items() if b != common)
    return ({s: b for s, (b, _) in per.items()}, f"{others}, {common} for the rest",
            "; ".join(whys))


def notebook_parameters(step: str) -> dict[str, Any]:
    """Name -> default value of every parameter the step's notebook declares.

    Reads the cell tagged ``parameters`` with Python's own parser (each top-level ``name = literal``;
    papermill's inspector skips lines whose comment holds an ``=``).
    """
    import ast

    import nbformat

    nb_path = notebooks_dir() / f"{step}.ipynb"
    if not nb_path.exists():
        raise PipelineError(problem(nb_path, found="no such notebook", expected=f"the notebook of step {step}",
                                    fix="check FXLAB_NOTEBOOKS or the repository checkout"))
    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise PipelineError(problem(nb_path, found=f"{len(cells)} cells tagged 'parameters'",
                                    expected="exactly one", fix="tag the notebook's parameters cell"))
    declared: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else (
            node.target if isinstance(node, ast.AnnAssign) else None)
        if isinstance(target, ast.Name) and node.value is not None:
            try:
                declared[target.id] = ast.literal_eval(node.value)
            except ValueError:
                declared[target.id] = ast.unparse(node.value)
    return declared


def parse_value(text: str) -> Any:
    """Turn a ``-p NAME VALUE`` string into a value the way papermill does.

    ``True``/``False``/``None`` (any case) become bool/None, integers and floats become numbers,
    ``{...}`` and ``[...]`` are read as YAML (a mapping or a list), anything else stays a string.
    """
    low = text.strip().lower()
    if low[:1] in ("{", "["):  # a mapping or list, as papermill's -y takes it: '{"order": 2}'
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            return text
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _select_steps(profile: Profile, steps: list[str] | None) -> list[str]:
    if not steps:
        return list(profile.steps)
    chosen = []
    for s in steps:
        for token in str(s).replace(",", " ").split():
            match = [st for st in STEPS if st == token or st.split("_", 1)[0] == token.zfill(2)]
            if not match:
                raise unknown_name("step", token, STEPS)
            chosen.append(match[0])
    return [s for s in STEPS if s in chosen]  # study order, no duplicates


def _check_type(step: str, name: str, value: Any, default: Any, source: str) -> None:
    if default is None or value is None:
        return
    number = (int, float)
    ok = (isinstance(default, bool) and isinstance(value, bool)) or (
        not isinstance(default, bool) and isinstance(default, number)
        and isinstance(value, number) and not isinstance(value, bool)) or (
        isinstance(default, str) and isinstance(value, str)) or (
        isinstance(default, dict | list) and isinstance(value, type(default)))
    if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float):
        ok = value.is_integer()
    if not ok:
        raise ParameterError(problem(
            f"parameter {name!r} of step {step} (from {source})", found=f"{value!r} ({type(value).__name__})",
            expected=f"a {type(default).__name__} like the notebook's default {default!r}",
            fix=f"give e.g. -p {name} {default!r}"))


def plan(profile: str | Profile = "quick", *, steps: list[str] | None = None,
         overrides: dict[str, Any] | None = None, param_files: list[str | os.PathLike] | None = None,
         ) -> list[tuple[str, dict[str, Any]]]:
    """Resolve each selected step's parameters (without ``run_dir``); raises on any unknown name.

    Returns ``[(step, {name: value, ...}), ...]`` in study order. Each mapping holds the names given
    by the profile, the files or the overrides that the step's notebook declares; the notebook's own
    defaults stand for the rest.
    """
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    chosen = _select_steps(prof, steps)
    declared = {s: notebook_parameters(s) for s in chosen}
    layers: list[tuple[str, dict[str, Any]]] = [(f"profile {prof.name}: parameters", prof.parameters)]
    for f in param_files or []:
        fp = Path(f)
        if not fp.exists():
            raise ParameterError(problem(fp, found="no such file", expected="a YAML file of NAME: VALUE",
                                         fix="check the path given to -f"))
        data = yaml.safe_load(fp.read_text()) or {}
        if not isinstance(data, dict):
            raise ParameterError(problem(fp, found=type(data).__name__, expected="a mapping NAME: VALUE",
                                         fix="write one 'name: value' per line"))
        layers.append((f"file {fp}", data))
    layers.append(("-p", dict(overrides or {})))

    everything = sorted(set().union(*declared.values())) if declared else []
    for source, values in layers:
        for name in values:
            if name in RESERVED:
                raise ParameterError(problem(f"parameter {name!r} ({source})", found="a reserved name",
                                             expected="a name the pipeline does not set itself",
                                             fix="use --run-id to choose the run folder"))
            if not any(name in declared[s] for s in chosen):
                raise unknown_name(f"parameter (from {source}) of steps {', '.join(chosen)}; "
                                   f"parameter", name, everything)
    for step, values in prof.steps.items():
        if step in declared:
            for name in values:
                if name in RESERVED or name not in declared[step]:
                    raise unknown_name(f"parameter of step {step} (profile {prof.name}); parameter",
                                       name, sorted(declared[step]))

    resolved = []
    for step in chosen:
        params: dict[str, Any] = {}
        step_layers = [layers[0], (f"profile {prof.name}: steps.{step}", prof.steps.get(step, {})), *layers[1:]]
        for source, values in step_layers:
            for name, value in values.items():
                if name in declared[step]:
                    _check_type(step, name, value, declared[step][name], source)
                    params[name] = value
        resolved.append((step, params))
    return resolved


@dataclass
class StepResult:
    """What happened to one step."""

    name: str
    status: str = "pending"  # pending | ok | failed | skipped | interrupted
    seconds: float = 0.0
    error: str = ""
    cell: int | None = None
    notebook: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunResult:
    """The outcome of :func:`run`: the run folder, each step's result and the report's path."""

    run_id: str
    run_dir: Path
    profile: str
    steps: list[StepResult]
    report: Path | None = None

    @property
    def ok(self) -> bool:
        return all(s.status == "ok" for s in self.steps)

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status in ("failed", "interrupted")), None)


def versions() -> dict[str, str]:
    """Versions of Python, fxlab and the libraries behind the numbers, and the machine."""
    out = {"python": platform.python_version(), "fxlab": __version__,
           "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
           "cpus": str(os.cpu_count()), "platform": platform.platform()}
    for pkg in ("tensorflow", "keras", "numpy", "scipy", "librosa", "soundfile", "pedalboard",
                "numba", "papermill", "matplotlib", "ipywidgets"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _earlier_steps(run_dir: Path, names: set[str]) -> list[dict]:
    """Steps an earlier invocation ran in this folder that this one does not run again (``fxlab run
    --steps 03`` on a finished run): kept so the report still shows them, each marked with the
    time that invocation started. Only those whose executed notebook is still there."""
    try:
        old = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        return []
    kept: dict[str, dict] = {}
    for step in [*old.get("earlier_steps", []),
                 *({**s, "earlier": old.get("started")} for s in old.get("steps", []))]:
        name = step.get("name")
        if (name in STEPS and name not in names and name not in kept and step.get("status") != "skipped"
                and (run_dir / str(step.get("notebook", ""))).is_file()):
            kept[name] = step
    return list(kept.values())


def _write_run_json(result: RunResult, started: str, extra: dict, earlier: list[dict] = ()) -> None:
    doc = {
        "run_id": result.run_id, "profile": result.profile, "started": started,
        "finished": _dt.datetime.now().isoformat(timespec="seconds"),
        "ok": result.ok, "steps": [s.__dict__ for s in result.steps], "versions": versions(), **extra,
    }
    if earlier:
        doc["earlier_steps"] = earlier
    atomic_write(result.run_dir / "run.json", json.dumps(doc, indent=2, default=str))


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Send this process's file descriptor 2 -- and so the kernel's, which inherits it -- to ``path``.

    TensorFlow and the kernel write start-up chatter to stderr; it goes to the step's log file in the
    run folder instead of the terminal, where the progress lines are.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log_file:
        os.dup2(log_file.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _update_latest(reports: Path, run_id: str) -> None:
    link = reports / "latest"
    try:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(run_id, target_is_directory=True)
    except OSError:
        pass  # filesystems without symlinks: the run folder is still there


def run(profile: str = "quick", *, steps: list[str] | None = None, run_id: str | None = None,
        overrides: dict[str, Any] | None = None, param_files: list[str | os.PathLike] | None = None,
        reports_dir: str | os.PathLike = "reports", log=None, on_step=None,
        link_latest: bool = True) -> RunResult:
    """Execute the profile's notebooks in order into ``reports_dir/<run_id>/`` and build the report.

    Parameters are resolved by :func:`plan` first, so a bad name fails before anything runs.
    Reusing a ``run_id`` reuses its folder (data and checkpoints are kept, so training resumes).
    Prints one progress line per step through ``log``; ``on_step(index, total, step_result)``, if
    given, is called as each step starts (status ``"pending"``) and ends (its final status).
    ``link_latest`` points ``reports_dir/latest`` at this run. Returns a :class:`RunResult`; never
    raises for a step's failure (see ``.ok`` and ``.failed_step``). The notebooks' kernels run
    the Keras backend of :func:`_keras_backend` (recorded in ``run.json``).
    """
    log = log or (lambda msg: print(msg, flush=True))
    logging.getLogger("papermill").setLevel(logging.ERROR)  # our own progress lines say enough

    prof = load_profile(profile)
    resolved = plan(prof, steps=steps, overrides=overrides, param_files=param_files)
    reports = Path(reports_dir).resolve()
    run_id = run_id or f"{prof.name}-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    if not run_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ParameterError(problem("--run-id", found=repr(run_id), expected="letters, digits, '-', '_', '.'",
                                     fix="e.g. --run-id quick-try2"))
    run_dir = reports / run_id
    for sub in ("notebooks", "params", "logs"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    if link_latest:
        _update_latest(reports, run_id)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

    # recorded (params/<step>.yaml, run.json, the report): every parameter the step ran with, its
    # notebook's defaults included; papermill is given only the resolved ones
    given = dict(resolved)
    result = RunResult(run_id, run_dir, prof.name,
                       [StepResult(s, parameters={**notebook_parameters(s), **p}) for s, p in resolved])
    started = _dt.datetime.now().isoformat(timespec="seconds")
    backends, backend, why = _backends_of(prof, [s.name for s in result.steps])
    extra = {"description": prof.description, "reports_dir": str(reports), "keras_backend": backend,
             "keras_backend_why": why, "keras_backends": backends}
    earlier = _earlier_steps(run_dir, {s.name for s in result.steps})
    log(f"fxlab run: profile {prof.name}, {len(resolved)} steps -> {run_dir}")
    if backend != "tensorflow" or prof.keras_backend or prof.step_backends:
        log(f"      Keras backend: {backend} ({why})")
    saved_backend = os.environ.get("KERAS_BACKEND")
    try:
        return _run_steps(prof, result, run_dir, given, started, extra, earlier, log, on_step)
    finally:
        if saved_backend is None:
            os.environ.pop("KERAS_BACKEND", None)
        else:
            os.environ["KERAS_BACKEND"] = saved_backend


def _run_steps(prof, result, run_dir, given, started, extra, earlier, log, on_step) -> RunResult:
    """Execute each step of ``result`` in order (see :func:`run`)."""
    import papermill as pm

    # here, not at the top: fxlab.report imports nbformat (and jsonschema), about a second that
    # `fxlab profiles`, `fxlab params` and a sweep's planning need not wait for
    from fxlab.report import build_report

    n = len(result.steps)
    blocked_by = None
    for i, sr in enumerate(result.steps, 1):
        if blocked_by is not None:
            sr.status, sr.error = "skipped", f"not run: step {blocked_by} did not finish"
            log(f"[{i}/{n}] {sr.name}: skipped ({sr.error})")
            continue
        params = {**given[sr.name], "run_dir": str(run_dir)}
        (run_dir / "params" / f"{sr.name}.yaml").write_text(
            yaml.safe_dump({**sr.parameters, "run_dir": str(run_dir)}, sort_keys=True))
        out_nb = run_dir / "notebooks" / f"{sr.name}.ipynb"
        sr.notebook = str(out_nb.relative_to(run_dir))
        log(f"[{i}/{n}] {sr.name} ...")
        os.environ["KERAS_BACKEND"] = extra["keras_backends"][sr.name]  # the kernel inherits it
        if on_step:
            on_step(i, n, sr)
        t0 = time.perf_counter()
        try:
            with _stderr_to(run_dir / "logs" / f"{sr.name}.stderr.log"), \
                    progress.follow(run_dir / "logs" / f"{sr.name}.progress.log", log):
                pm.execute_notebook(
                    str(notebooks_dir() / f"{sr.name}.ipynb"), str(out_nb), parameters=params,
                    kernel_name="python3", cwd=str(notebooks_dir()), progress_bar=False,
                    request_save_on_cell_execute=True,
                )
            sr.status = "ok"
        except pm.PapermillExecutionError as e:
            sr.status, sr.cell = "failed", e.exec_count
            sr.error = f"{e.ename}: {e.evalue}".strip()
        except KeyboardInterrupt:
            sr.status, sr.error = "interrupted", "interrupted by the user (Ctrl-C)"
        except Exception as e:  # kernel died, notebook unreadable, ...
            sr.status, sr.error = "failed", f"{type(e).__name__}: {e}"
        sr.seconds = round(time.perf_counter() - t0, 1)
        if sr.status == "ok":
            log(f"[{i}/{n}] {sr.name}: ok ({sr.seconds:.1f} s)")
        else:
            where = f" in cell [{sr.cell}]" if sr.cell else ""
            log(f"[{i}/{n}] {sr.name}: {sr.status.upper()}{where} after {sr.seconds:.1f} s: {sr.error}")
            log(f"      partial notebook: {out_nb}")
            log(f"      kernel log: {run_dir / 'logs' / (sr.name + '.stderr.log')}")
            blocked_by = sr.name
        _write_run_json(result, started, extra, earlier)
        if on_step:
            on_step(i, n, sr)
        if sr.status == "interrupted":
            break
    for sr in result.steps:
        if sr.status == "pending":
            sr.status, sr.error = "skipped", "not run: the run was interrupted"
    _write_run_json(result, started, extra, earlier)
    result.report = build_report(run_dir)
    return result
