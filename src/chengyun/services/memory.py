"""Memory helpers shared by the services."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large batch of short-lived objects is built and used
    (a period's order records, a batch of sensor readings): they all live until the work is done, so
    each collection the allocations would trigger walks them all again for nothing. Safe from several
    threads at once: whoever paused it resumes it, and it is never left paused."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
