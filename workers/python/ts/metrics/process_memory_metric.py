"""``ts.metrics.process_memory_metric``: the resident memory of processes, logged as ``<pid>:<bytes>``
for each pid of a comma-separated line read from ``stdin``."""
from __future__ import annotations

import logging
import os


def get_cpu_usage(pid):
    """Resident set size of ``pid`` in bytes; 0 (with the error logged) when it cannot be read."""
    try:
        import psutil  # optional: /proc gives the same number on Linux

        return psutil.Process(int(pid)).memory_info()[0]
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 — psutil.Error and a bad pid alike
        logging.error("Failed get process for pid: %s", pid, exc_info=True)
        return 0
    try:
        with open(f"/proc/{int(pid)}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        logging.error("Failed get process for pid: %s", pid, exc_info=True)
        return 0


def check_process_mem_usage(stdin):
    for pid in stdin.readline().strip().split(","):
        if pid:
            logging.info("%s:%d", pid, get_cpu_usage(pid))
