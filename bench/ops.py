#!/usr/bin/env python3
"""ops.py - the timed inner loops of bench/run.sh that one process runs.

  ops.py write PATH COUNT    COUNT times: open(PATH, O_WRONLY|O_TRUNC), write
                             {"priority":P}, close; P alternates 2 and 3 so
                             that every write is a real change (orchfs skips
                             the UPDATE for an unchanged row).
  ops.py sql DB KEY COUNT    COUNT times, each in its own transaction:
                             UPDATE bugs SET priority = P WHERE id = KEY,
                             P alternating as above, on a connection set up
                             as orchfs sets up its own (WAL is in the file;
                             synchronous=NORMAL, foreign_keys=ON).

Prints the elapsed time of the loop alone, in microseconds (interpreter
start and connection open are not counted). Any failed call - including
an error returned by close() - ends it with a traceback and exit status 1.
"""
import os
import sqlite3
import sys
import time


def write(path, count):
    t0 = time.perf_counter_ns()
    for i in range(count):
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, b'{"priority":%d}\n' % (2 + i % 2))
        finally:
            os.close(fd)
    return time.perf_counter_ns() - t0


def sql(db, key, count):
    con = sqlite3.connect(db, isolation_level=None, timeout=5.0)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA synchronous=NORMAL")
    t0 = time.perf_counter_ns()
    for i in range(count):
        con.execute("BEGIN")
        cur = con.execute("UPDATE bugs SET priority = ? WHERE id = ?", (2 + i % 2, key))
        if cur.rowcount != 1:
            raise SystemExit("ops.py: no bug %s in %s" % (key, db))
        con.execute("COMMIT")
    elapsed = time.perf_counter_ns() - t0
    con.close()
    return elapsed


def main(argv):
    if len(argv) == 4 and argv[1] == "write":
        ns = write(argv[2], int(argv[3]))
    elif len(argv) == 5 and argv[1] == "sql":
        ns = sql(argv[2], argv[3], int(argv[4]))
    else:
        sys.stderr.write("usage: ops.py write PATH COUNT | sql DB KEY COUNT\n")
        return 2
    print(ns // 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
