#!/usr/bin/env python3
"""The script of the course's Python multi-stage exercise: it writes output.txt.

The build stage runs it once; the run stage only has to show the file, so
the final image needs no Python at all.
"""

import datetime
import os
import platform
import socket


def generated_at():
    # SOURCE_DATE_EPOCH (reproducible-builds.org) makes two builds of the
    # same commit write the same file; without it, the time of the run.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
    return datetime.datetime.now(datetime.timezone.utc)


def main():
    lines = [
        "Hello from simple_script.py!",
        "This file was generated at build time by simple_script.py.",
        "Python version: " + platform.python_version(),
        "Generated on host: " + socket.gethostname(),
        "Generated at: " + generated_at().strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]
    with open("output.txt", "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
