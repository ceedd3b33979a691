#!/usr/bin/env python3
"""Runs a command in a process group of its own and kills the whole group
when standard input closes, so a server started by a test cannot outlive the
test process, even one that crashes (its end of the pipe closes with it).

Usage: process_group.py COMMAND [ARG]...
The group id is this process's id: `kill -- -PID` ends everything. Exits
with the command's status when the command ends first.
"""
import os
import signal
import subprocess
import sys
import threading


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: process_group.py COMMAND [ARG]...")
    os.setpgid(0, 0)
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        os.killpg(0, signal.SIGKILL)

    threading.Thread(target=watch_stdin, daemon=True).start()
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, lambda *_: os.killpg(0, signal.SIGKILL))
    status = child.wait()
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
