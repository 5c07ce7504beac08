"""How many CPU threads a piece of work may use: the one place that sets them.

``set_threads`` fixes torch's intra-op threads (a worker's initializer, an item's run);
``limit_threads`` is the context manager that also caps the BLAS pools (threadpoolctl) and
restores both afterwards. On a shared 2-core machine, oversubscribed threads made small
networks 10-80x slower, so work items and timed studies run with a fixed count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def set_threads(threads: int | None) -> int | None:
    """Set torch's intra-op thread count (``None``: leave it); return the previous one."""
    if threads is None:
        return None
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    return before


@contextlib.contextmanager
def limit_threads(n: int | None) -> Iterator[None]:
    """Run the body with ``n`` torch threads and ``n`` BLAS threads (threadpoolctl, when
    installed); ``None`` changes nothing. Restores the previous settings."""
    if n is None:
        yield
        return
    saved = set_threads(n)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            yield
        else:
            with threadpool_limits(limits=n):
                yield
    finally:
        set_threads(saved)
