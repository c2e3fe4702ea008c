"""``python -m fxlab.bench aliasing|capture|train|latency|pedal|film|windowed|sweep|graybox [options]``: dispatch to a benchmark's ``main(argv)``."""

from __future__ import annotations

import sys

__all__ = ["main"]

_BENCHES = ("aliasing", "capture", "film", "graybox", "latency", "pedal", "sweep", "train", "windowed")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark named by ``argv[0]`` with the remaining arguments; returns its status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name == "aliasing":
        from fxlab.bench.aliasing import main as run
    elif name == "capture":
        from fxlab.bench.capture import main as run
    elif name == "train":
        from fxlab.bench.train import main as run
    elif name == "latency":
        from fxlab.bench.latency import main as run
    elif name == "pedal":
        from fxlab.bench.pedal import main as run
    elif name == "sweep":
        from fxlab.bench.sweep import main as run
    elif name == "windowed":
        from fxlab.bench.windowed import main as run
    elif name == "film":
        from fxlab.bench.film import main as run
    elif name == "graybox":
        from fxlab.bench.graybox import main as run
    else:
        from fxlab.errors import unknown_name

        print(unknown_name("benchmark", name, _BENCHES), file=sys.stderr)
        return 2
    return int(run(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
