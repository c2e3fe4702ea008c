"""What a latency measurement is set to do: :class:`LatencyConfig`, the engines per kind, the thesis's figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from fxlab import runtime
from fxlab.audio import STUDY_SR
from fxlab.errors import ParameterError, problem, unknown_name
from fxlab.runtime import check_block_size
from fxlab.util import NotebookConfig

__all__ = ["BLOCK_SIZES", "BOUNDS_MS", "KIND_ENGINES", "RECOMMENDED_MODEL", "THESIS_MS_PER_SAMPLE",
           "THESIS_RTF", "LatencyConfig", "engine_list", "kind_of", "parse_block_sizes"]

BLOCK_SIZES = (1, 16, 64, 256, 1024, 4096)
#: The thesis, section 4.1.1: one forward pass of its LSTM-384/1024 per output sample [ms].
THESIS_MS_PER_SAMPLE = 0.8
#: 0.8 ms x 44100 samples/s = 35.28 s per second of audio (the thesis rounds to 35).
THESIS_RTF = THESIS_MS_PER_SAMPLE * 1e-3 * STUDY_SR
#: Acceptable latencies the thesis cites (section 5) [ms].
BOUNDS_MS = {"voice": 3.0, "guitar": 13.0}
#: The sample-level model the study recommends for real time: a one-layer LSTM-32 (the field's
#: standard, Wright et al. 2020; fxlab.models's default ``lstm``).
RECOMMENDED_MODEL = "lstm"


#: The engines that can run each kind of model, fastest first: each processor's own list (the
#: gray-box emulator: ``numba`` only, its recursive filters compiled).
KIND_ENGINES = {cls.kind: cls.engines for cls in (runtime.RecurrentProcessor,
                                                   runtime.ConvProcessor, runtime.WindowedProcessor,
                                                   runtime.GrayboxProcessor)}


def kind_of(model) -> str:
    """``"rnn"``, ``"tcn"``, ``"windowed"`` or ``"graybox"``: which engines can run ``model``
    (:data:`KIND_ENGINES`)."""
    return runtime.processor_class(model).kind


def engine_list(kind: str, engines: str | list) -> list[str]:
    """The engines of ``engines`` (``"all"`` or names) that can run a network of ``kind``."""
    known = sorted({e for names in KIND_ENGINES.values() for e in names})
    if engines in ("all", None):
        return list(KIND_ENGINES[kind])
    names = [e.strip() for e in engines.split(",")] if isinstance(engines, str) else list(engines)
    for e in names:
        if e not in known:
            raise unknown_name("engine", e, known)
    return [e for e in names if e in KIND_ENGINES[kind]] or list(KIND_ENGINES[kind][:1])


def parse_block_sizes(text) -> list[int]:
    """``"1,16,64"`` (or a list) -> ``[1, 16, 64]``, each checked (``ParameterError``)."""
    items = [t.strip() for t in text.split(",") if t.strip()] if isinstance(text, str) else list(text)
    out = []
    for item in items:
        if isinstance(item, str):
            try:
                item = int(item)
            except ValueError as exc:
                raise ParameterError(problem(
                    f"block_sizes={text!r}", found=f"{item!r}", expected="comma-separated integers",
                    fix='write e.g. block_sizes="1,16,64,256,1024,4096"')) from exc
        out.append(check_block_size(item, name="block size"))
    if not out:
        raise ParameterError(problem(f"block_sizes={text!r}", found="no sizes",
                                     expected="at least one block size", fix='e.g. "64"'))
    return out


@dataclass(frozen=True)
class LatencyConfig(NotebookConfig):
    """Settings of one latency measurement: notebook 05's parameters, frozen and checked.

    The notebook builds it in one line: ``config = latency.LatencyConfig.from_parameters(globals())``.

    Attributes
    ----------
    run_dir : str
        The run folder holding ``data/`` and ``models/``.
    seed : int
        Seed of the white-noise blocks that are timed.
    models : str
        ``"all"`` or comma-separated names of trained models in ``run_dir/models``.
    engines : str
        ``"all"`` or comma-separated engine names (:data:`KIND_ENGINES`: every engine of
        :mod:`fxlab.runtime.engines` for LSTM/GRU, ``numba``/``keras`` for the TCN, ``numba``
        for the gray-box emulator).
    block_sizes : tuple of int [samples]
        Parsed from ``"1,16,64,256,1024,4096"``.
    n_blocks : int >= 1
        Blocks timed per configuration (the issue asks for 1000).
    seconds_per_config : float > 0 [s]
        Time budget per configuration; slower ones time fewer blocks (recorded in ``note``).
    max_block_seconds : float > 0 [s]
        Skip block sizes predicted to take longer than this per block.
    demo_model : str
        Model streamed in the demo: ``"auto"`` (see :func:`pick_demo_model`) or a name.
    demo_block_size : int >= 1 [samples]
        Block size of the demo.
    export_model : str
        Model exported in every format that holds it (:func:`fxlab.export.export_run_model`),
        ``""`` for none.
    """

    run_dir: str = "../reports/lab"
    seed: int = 0
    models: str = "all"
    engines: str = "all"
    block_sizes: tuple = BLOCK_SIZES
    n_blocks: int = 1000
    seconds_per_config: float = 5.0
    max_block_seconds: float = 2.0
    demo_model: str = "auto"
    demo_block_size: int = 64
    export_model: str = RECOMMENDED_MODEL

    def __post_init__(self):
        object.__setattr__(self, "block_sizes", tuple(parse_block_sizes(self.block_sizes)))
        check_block_size(self.demo_block_size, name="demo_block_size")
        engine_list("rnn", self.engines)
        if isinstance(self.n_blocks, bool) or not isinstance(self.n_blocks, int) or self.n_blocks < 1:
            raise ParameterError(problem(
                f"n_blocks={self.n_blocks!r}", found=repr(self.n_blocks), expected="an integer >= 1",
                fix="pass n_blocks=1000 (the issue's minimum) or fewer for a quick look"))
        for key in ("seconds_per_config", "max_block_seconds"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ParameterError(problem(
                    f"{key}={v!r}", found=repr(v), expected="a number of seconds > 0",
                    fix=f"pass e.g. {key}=1.0"))

    def to_dict(self) -> dict:
        """Plain-dict form (saved in ``latency.json``)."""
        return {**{k: v for k, v in asdict(self).items() if k != "run_dir"},
                "block_sizes": list(self.block_sizes)}
