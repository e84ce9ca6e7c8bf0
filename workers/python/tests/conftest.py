import os
import sys

WORKERS_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if WORKERS_PYTHON not in sys.path:
    sys.path.insert(0, WORKERS_PYTHON)
