#!/usr/bin/env python3
"""fswrite.py PATH [MODE]: write stdin to PATH and report what close() says.

MODE is trunc (default: O_WRONLY|O_CREAT|O_TRUNC), append (O_APPEND),
excl (O_CREAT|O_EXCL) or fsync (trunc, then fsync before close). Prints OK,
or the errno name of the first call that failed (open, write, fsync, close),
e.g. EINVAL, and exits 0 either way: the caller compares the word."""
import errno
import os
import sys

path = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "trunc"
data = sys.stdin.buffer.read()
flags = {
    "trunc": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "fsync": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    "append": os.O_WRONLY | os.O_APPEND,
    "excl": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
}[mode]
try:
    fd = os.open(path, flags, 0o644)
except OSError as e:
    print(errno.errorcode[e.errno])
    sys.exit(0)
try:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    if mode == "fsync":
        os.fsync(fd)
except OSError as e:
    print(errno.errorcode[e.errno])
    try:
        os.close(fd)
    except OSError:
        pass
    sys.exit(0)
try:
    os.close(fd)
except OSError as e:
    print(errno.errorcode[e.errno])
    sys.exit(0)
print("OK")
