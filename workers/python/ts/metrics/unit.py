"""``ts.metrics.unit.Units``: the unit names metric lines carry, by the short names handlers pass."""
from lantern_worker.metrics import UNITS


class Units:
    def __init__(self):
        self.units = dict(UNITS)
