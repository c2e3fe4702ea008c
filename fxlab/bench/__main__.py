"""``python -m fxlab.bench aliasing|capture|film|gear|graybox|latency|pedal|sweep|train|windowed [options]``: dispatch to a benchmark's ``main(argv)``."""

from __future__ import annotations

import importlib
import sys

__all__ = ["main"]

_BENCHES = ("aliasing", "capture", "film", "gear", "graybox", "latency", "pedal", "sweep", "train",
            "windowed")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark named by ``argv[0]`` with the remaining arguments; returns its status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in _BENCHES:
        from fxlab.errors import unknown_name

        print(unknown_name("benchmark", name, _BENCHES), file=sys.stderr)
        return 2
    run = importlib.import_module(f"fxlab.bench.{name}").main
    return int(run(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
