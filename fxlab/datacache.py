"""The data-set cache's plumbing: where it lives, a lock per entry, publishing a built entry in
one rename, and linking an entry into a run folder.

Several processes may ask for the same recipe at once (the workers of a sweep): the first builds
into a temporary folder, renamed into place when complete; the others wait on the entry's lock and
then link it. :func:`fxlab.datasets.build_dataset` is the one caller.

- :func:`default_cache_dir`  ``$FXLAB_CACHE/datasets`` or ``reports/_cache/datasets`` beside a run
- :func:`cache_lock`         an exclusive lock on ``.<entry>.lock`` beside an entry
- :func:`publish`            move a built entry into place in one rename; never disturb a good one
- :func:`link_or_copy`       hard-link a file (copy where links are refused)
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["cache_lock", "default_cache_dir", "link_or_copy", "publish"]


def default_cache_dir(out_dir: Path) -> Path:
    env = os.environ.get("FXLAB_CACHE")
    return Path(env) / "datasets" if env else out_dir.resolve().parent.parent / "_cache" / "datasets"


def link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@contextlib.contextmanager
def cache_lock(entry: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<entry>.lock`` beside a cache entry while it is looked up or built.

    Several processes (the workers of a sweep) may ask for the same recipe at once: the first builds,
    the others wait and then find the entry. Where the file system refuses locks, nothing is held
    and :func:`publish` still keeps the cache consistent (each builds; the first rename wins).
    """
    import fcntl

    entry.parent.mkdir(parents=True, exist_ok=True)
    with open(entry.parent / f".{entry.name}.lock", "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        except OSError:
            pass  # no locks on this file system
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def publish(tmp: Path, entry: Path) -> None:
    """Move a fully built set ``tmp`` to ``entry`` in one rename; never disturb a good entry.

    If another process published the same recipe first, its entry is kept and ``tmp`` is left to
    be removed. A damaged entry (no manifest: an interrupted copy by hand) is renamed aside first.
    """
    try:
        tmp.rename(entry)  # atomic: a half-built entry is never mistaken for a good one
        return
    except OSError:
        if (entry / "manifest.json").exists():
            return  # built meanwhile by another process: identical data, keep theirs
    aside = entry.with_name(f".{entry.name}.damaged-{os.getpid()}")
    entry.rename(aside)
    tmp.rename(entry)
    shutil.rmtree(aside, ignore_errors=True)
