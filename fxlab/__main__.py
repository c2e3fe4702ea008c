"""``python -m fxlab ...``: the ``fxlab`` command (:mod:`fxlab.cli`), for environments without its script."""

import sys

from fxlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
