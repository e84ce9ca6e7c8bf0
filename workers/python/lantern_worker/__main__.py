import os
import sys

from .worker import main

code = main()
sys.stdout.flush()
sys.stderr.flush()
# os._exit: a handler's non-daemon threads must not keep the worker alive after the front end is gone.
os._exit(code)
