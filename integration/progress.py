"""Progress for long commands: a bar on a terminal, plain counts in logs, a summary at the end."""

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from tqdm import tqdm

T = TypeVar("T")
logger = logging.getLogger("progress")


def _is_tty(stream: TextIO | None) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "",
             stdout: TextIO | None = None, every: int | None = None, quiet: bool = False,
             unit: str = "row") -> Iterator[T]:
    """Yields from ``iterable`` while showing how far along it is.

    On a terminal this is a tqdm bar; otherwise (CI, logs, ``call_command``) a line
    ``desc: n/total`` every ``every`` items (about every 10 % by default), so logs
    stay readable; with ``quiet`` nothing at all off a terminal (for a command whose
    own lines already say what it did).
    """
    stream = stdout if stdout is not None else sys.stderr
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if _is_tty(stream):
        yield from tqdm(iterable, total=total, desc=desc, file=stream, unit=unit, dynamic_ncols=True)
        return
    if quiet:
        yield from iterable
        return
    step = every or max(1, (total or 1000) // 10)
    started = time.monotonic()
    count = 0
    for count, item in enumerate(iterable, start=1):
        yield item
        if count % step == 0:
            _write(stream, f"{desc}: {count}/{total if total is not None else '?'}")
    _write(stream, f"{desc}: {count}/{total if total is not None else count} done in "
                   f"{time.monotonic() - started:.1f}s")


def _write(stream: TextIO, line: str) -> None:
    stream.write(line + "\n")
    flush = getattr(stream, "flush", None)
    if flush:
        flush()
    logger.info(line)
