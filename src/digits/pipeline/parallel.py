"""Work spread over forked processes, for the stages that make or read many images (the
`check` stage's examples, the `wild` and `numbers_bench` benchmarks)."""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")


def worker_count(requested: int) -> int:
    """Processes for a stage: as requested, or (0) one per core, at most 4."""
    return requested or min(len(os.sched_getaffinity(0)), 4)


def in_workers(task: Callable[[T], U], items: list[T], workers: int, init: Callable[..., None],
               initargs: tuple, ordered: bool = False) -> Iterator[U]:
    """task(item) for every item, here (workers <= 1) or in a pool of forked processes, each
    set up once by init(*initargs) (fork: big arrays are shared, not copied); in item order
    if `ordered`, else as they finish. Fork before TensorFlow is imported: its threads do
    not survive a fork."""
    if workers <= 1:
        init(*initargs)
        yield from map(task, items)
        return
    with mp.get_context("fork").Pool(min(workers, len(items)) or 1, initializer=init, initargs=initargs) as pool:
        yield from (pool.imap if ordered else pool.imap_unordered)(task, items)
