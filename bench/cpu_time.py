#!/usr/bin/python3
"""Runs a command (its output discarded) and prints one JSON line: its wall seconds and the CPU seconds (user +
system) of it and all its children, e.g. the processes of a sweep.

Usage: cpu_time.py COMMAND [ARG...]
"""

import json
import resource
import subprocess
import sys
import time

start = time.perf_counter()
status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall_s = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall_s, "cpu_s": usage.ru_utime + usage.ru_stime, "status": status}))
sys.exit(status)
