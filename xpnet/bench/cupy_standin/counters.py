# purity: host -- a strict host-memory stand-in for CuPy (counts device ops and host reads); not engine code
"""What the stand-in counts: device operations (kernel launches; views excluded) and device→host
reads (each one a synchronisation on a real GPU), by name, between ``reset()`` calls."""
from __future__ import annotations

import collections
import contextlib
import traceback


class Counters:
    def __init__(self):
        self.ops = collections.Counter()
        self.reads = collections.Counter()
        self.read_sites: list = []
        self.trap = False  # True: a host read raises instead of being counted

    def reset(self):
        self.ops.clear()
        self.reads.clear()
        self.read_sites.clear()

    def op(self, name, n=1):
        self.ops[name] += n

    def read(self, name):
        if self.trap:
            raise AssertionError(f"device→host read ({name}) where none is allowed")
        self.reads[name] += 1
        self.read_sites.append((name, "".join(traceback.format_stack(limit=8)[:-2])))

    @property
    def n_ops(self) -> int:
        return sum(self.ops.values())

    @property
    def n_reads(self) -> int:
        return sum(self.reads.values())

    @contextlib.contextmanager
    def trapping(self):
        """Inside: any device→host read raises AssertionError (with the read's name)."""
        prev, self.trap = self.trap, True
        try:
            yield self
        finally:
            self.trap = prev


COUNTERS = Counters()
