"""Live progress of a pipeline step, from inside its notebook's kernel to the terminal.

papermill runs each notebook in a separate kernel process whose output only lands in the executed
notebook, so ``fxlab run`` would show nothing for the minutes a step takes. The pipeline names a
progress file in the environment (:data:`ENV_VAR`) before it starts the kernel; library code calls
:func:`note` at each milestone (a model starts, an epoch ends, a model is evaluated or timed),
which appends one line to that file; :func:`follow`, in the pipeline, prints each new line as it
arrives. Outside a pipeline run (JupyterLab, plain Python) :func:`note` does nothing.

- :func:`note`    record one progress line (no-op unless :data:`ENV_VAR` is set)
- :func:`follow`  context manager that echoes a progress file's new lines while a step runs
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["ENV_VAR", "follow", "note"]

#: Environment variable naming the progress file of the step being run.
ENV_VAR = "FXLAB_PROGRESS"


def note(message: str) -> None:
    """Append ``message`` as one line to the step's progress file, if a pipeline set one."""
    path = os.environ.get(ENV_VAR)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(message.replace("\n", " ") + "\n")


@contextlib.contextmanager
def follow(path: str | os.PathLike, log: Callable[[str], object], *, prefix: str = "      ",
           interval: float = 0.5) -> Iterator[Path]:
    """Set :data:`ENV_VAR` to ``path`` and echo every line appended to it through ``log``.

    A background thread polls the file every ``interval`` seconds; on exit the rest is echoed and
    the variable is restored, so a kernel started inside the block writes its progress there.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    stop = threading.Event()
    pos = 0

    def drain() -> None:
        nonlocal pos
        with path.open("r", encoding="utf-8") as f:
            f.seek(pos)
            while True:
                line = f.readline()
                if not line.endswith("\n"):
                    break  # a partly written line: read it next time
                pos = f.tell()
                log(prefix + line.rstrip("\n"))

    def loop() -> None:
        while not stop.wait(interval):
            drain()

    saved = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = str(path)
    thread = threading.Thread(target=loop, name="fxlab-progress", daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        thread.join()
        drain()
        if saved is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = saved
