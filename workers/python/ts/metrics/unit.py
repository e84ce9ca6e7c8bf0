"""``ts.metrics.unit.Units``: the unit names metric lines carry, by the short names handlers pass."""


class Units:
    def __init__(self):
        self.units = {
            "ms": "Milliseconds",
            "s": "Seconds",
            "percent": "Percent",
            "count": "Count",
            "MB": "Megabytes",
            "GB": "Gigabytes",
            "kB": "Kilobytes",
            "B": "Bytes",
            "": "unit",
            None: "unit",
        }
