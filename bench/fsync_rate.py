#!/usr/bin/env python3
"""The disk's sync rate: 4 KiB writes each followed by fdatasync, in the directory given.

Usage: fsync_rate.py DIR [SECONDS]. Prints one JSON object: {"fsyncs_per_s", "seconds", "dir"}.
Writes go round a preallocated 4 MiB file, the way SQLite reuses its WAL file, so the file size
(metadata) does not change between syncs.
"""
import json
import os
import sys
import time

def main() -> None:
    directory = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    path = os.path.join(directory, "fsync-probe.bin")
    block = b"\x5a" * 4096
    slots = 1024
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.pwrite(fd, b"\0" * (4096 * slots), 0)
        os.fsync(fd)
        n = 0
        start = time.perf_counter()
        while True:
            os.pwrite(fd, block, 4096 * (n % slots))
            os.fdatasync(fd)
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
    finally:
        os.close(fd)
        os.unlink(path)
    print(json.dumps({"fsyncs_per_s": round(n / elapsed, 1), "seconds": round(elapsed, 2), "dir": directory}))

if __name__ == "__main__":
    main()
