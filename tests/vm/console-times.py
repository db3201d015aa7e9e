#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# console-times.py LOG TIMES: copies a guest's serial console from stdin to
# LOG as it arrives, and writes each complete line to TIMES prefixed with
# the host's seconds since the start ("12.345 line"). Guest timestamps
# restart at 0 in a capture kernel; the host's clock spans the panic, the
# kexec and the capture, so panic -> saved is measured on it.
import os
import sys
import time

def main():
    log_path, times_path = sys.argv[1], sys.argv[2]
    start = time.monotonic()
    pending = b""
    with open(log_path, "ab", buffering=0) as log, open(times_path, "w", buffering=1) as times:
        while True:
            chunk = os.read(0, 65536)
            if not chunk:
                break
            log.write(chunk)
            now = time.monotonic() - start
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.rstrip(b"\r").decode(errors="replace")
                times.write(f"{now:.3f} {text}\n")
        if pending:
            times.write(f"{time.monotonic() - start:.3f} {pending.decode(errors='replace')}\n")

if __name__ == "__main__":
    main()
