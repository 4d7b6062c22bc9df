#!/bin/bash
# concurrency.sh - eight writers through the mount and two writing the
# database directly, for a bounded time, all incrementing one counter: no
# update is lost (the counter equals the sum of acknowledged increments), no
# read is torn, and the only errors writers see are ESTALE (retry: someone
# else changed the row since it was read) and EAGAIN (busy past the timeout).
# Then readers of audit.jsonl and changes.jsonl while rows are added: each
# read is the start of the final stream, and reads again agree with it.
. "$(dirname "$0")/lib.sh"
mount_fs
echo '{"title":"counter","description":"0"}' > "$MNT/bugs/new"
F=$MNT/bugs/BUG-001.json

cat > "$T/writers.py" <<'PY'
import errno, json, multiprocessing as mp, os, sqlite3, sys, time
path, db, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])

def mount_writer(q):
    done, errs, reads = 0, {}, 0
    end = time.time() + seconds
    while time.time() < end:
        with open(path) as f:
            text = f.read()
        try:
            doc = json.loads(text)
        except ValueError:
            errs["torn read"] = errs.get("torn read", 0) + 1
            continue
        reads += 1
        n = int(doc["description"])
        patch = json.dumps({"revision": doc["revision"], "description": str(n + 1)})
        try:
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
            try:
                os.write(fd, patch.encode())
            finally:
                os.close(fd)
            done += 1
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e.errno))
            errs[name] = errs.get(name, 0) + 1
    q.put(("mount", done, errs, reads))

def pg_writer(q):
    # psql, one autocommitted UPDATE at a time: acknowledged by its command tag
    import subprocess
    p = subprocess.Popen(["psql", "-X", "-d", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, bufsize=1)
    done, errs = 0, {}
    end = time.time() + seconds
    while time.time() < end:
        p.stdin.write("UPDATE bugs SET description = CAST(CAST(description AS INTEGER) + 1 AS TEXT) WHERE id = 'BUG-001';\n\\echo done\n")
        p.stdin.flush()
        ok = False
        while True:
            line = p.stdout.readline()
            if not line:
                raise RuntimeError("psql ended: " + p.stderr.read())
            if line.strip() == "UPDATE 1":
                ok = True
            if line.strip() == "done":
                break
        if ok:
            done += 1
        else:
            errs["psql"] = errs.get("psql", 0) + 1
        # a round trip is far quicker than SQLite's lock hand-over: pace it,
        # or the mount's writers never find the row unchanged
        time.sleep(0.02)
    p.stdin.close()
    p.wait()
    q.put(("sqlite", done, errs, 0))

def sql_writer(q):
    if db.startswith("postgres"):
        return pg_writer(q)
    con = sqlite3.connect(db, timeout=10, isolation_level=None)
    done, errs = 0, {}
    end = time.time() + seconds
    while time.time() < end:
        try:
            con.execute("UPDATE bugs SET description = CAST(CAST(description AS INTEGER) + 1 AS TEXT) WHERE id = 'BUG-001'")
            done += 1
        except sqlite3.OperationalError as e:
            errs[str(e)] = errs.get(str(e), 0) + 1
        time.sleep(0.001)
    q.put(("sqlite", done, errs, 0))

q = mp.Queue()
def guarded(target):
    def run(q):
        try:
            target(q)
        except Exception as e:   # never leave the parent waiting
            q.put(("crash", 0, {repr(e): 1}, 0))
    return run
mount_writer, sql_writer = guarded(mount_writer), guarded(sql_writer)
procs = [mp.Process(target=mount_writer, args=(q,)) for _ in range(8)]
procs += [mp.Process(target=sql_writer, args=(q,)) for _ in range(2)]
for p in procs: p.start()
results = [q.get() for _ in procs]
for p in procs: p.join()
total = sum(r[1] for r in results)
errors = {}
for r in results:
    for k, v in r[2].items():
        errors[k] = errors.get(k, 0) + v
print(json.dumps({"increments": total,
                  "mount": sum(r[1] for r in results if r[0] == "mount"),
                  "sqlite": sum(r[1] for r in results if r[0] == "sqlite"),
                  "reads": sum(r[3] for r in results), "errors": errors}))
PY
python3 "$T/writers.py" "$F" "$DB" 3 > "$T/result.json" 2> "$T/writers.err" || fail "the writers failed: $(tail -5 "$T/writers.err")"
echo "# $(cat "$T/result.json")"
inc=$(jq .increments "$T/result.json")
[ "$(jq .mount "$T/result.json")" -gt 20 ] || fail "too few increments through the mount to mean anything"
[ "$(jq .sqlite "$T/result.json")" -gt 20 ] || fail "too few direct increments to mean anything"
assert_eq "$inc" "$(sql "SELECT description FROM bugs WHERE id = 'BUG-001'")" "no lost update: the counter is the sum of the acknowledged increments"
assert_eq "$inc" "$(jq -r .description "$F")" "the mount shows the same count"
other=$(jq -r '.errors | keys - ["ESTALE", "EAGAIN"] | join(",")' "$T/result.json")
assert_eq "" "$other" "errors other than ESTALE and EAGAIN"
# SQLite's own check of its file; PostgreSQL has no such file to check
on_pg || assert_eq "ok" "$(sql "PRAGMA integrity_check")" "integrity_check"
assert_eq "$(jq .mount "$T/result.json")" "$(sql "SELECT count(*) FROM tool_executions WHERE status = 'success' AND operation = 'write' AND entity_key = 'BUG-001'")" \
	"one audit row per acknowledged write through the mount"

note "readers of audit.jsonl and changes.jsonl while rows are added through the mount$(on_pg || echo ' and by sqlite3'): each read is the stream as it was, or grew"
cat > "$T/streams.py" <<'PY'
import os, random, sqlite3, subprocess, sys, threading, time
mnt, db, orchfs, pg = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
stop = False
reads, errs = [], []
def writer_mount():
    i = 0
    while not stop:
        with open(mnt + "/audit.jsonl", "a") as f:
            f.write('{"tool_name":"agent","result":"%d"}\n' % i)
        with open(mnt + "/bugs/BUG-001.json", "w") as f:
            f.write('{"priority":%d}' % (i % 4 + 1))
        i += 1
def writer_sql():
    c = sqlite3.connect(db, timeout=10)
    while not stop:
        c.execute("INSERT INTO tool_executions (tool_name, operation, status) VALUES ('direct', 'tool_call', 'success')")
        c.execute("UPDATE bugs SET title = title WHERE id = 'BUG-001'")
        c.commit()
        time.sleep(0.002)
def reader(k):
    rnd = random.Random(k)
    try:
        for _ in range(6):
            name = rnd.choice(["audit.jsonl", "changes.jsonl"])
            fd = os.open(mnt + "/" + name, os.O_RDONLY)
            data = b""
            while True:
                b = os.read(fd, rnd.choice([4096, 16384, 65536, 300000]))
                if not b:
                    break
                data += b
            for _ in range(30 if data else 0):  # anywhere again: the same bytes (or more, at the end)
                off, n = rnd.randrange(len(data)), rnd.randrange(1, 50000)
                want = data[off:off + n]
                if os.pread(fd, n, off)[:len(want)] != want:
                    errs.append("%s: %d bytes at %d read again differ" % (name, n, off))
            os.close(fd)
            reads.append((name, data))
    except OSError as e:
        errs.append("%s: %s" % (name, e))
writers = [threading.Thread(target=writer_mount)] + ([] if pg else [threading.Thread(target=writer_sql)])
readers = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
for t in writers + readers:
    t.start()
for t in readers:
    t.join()
stop = True
for t in writers:
    t.join()
final = {"audit.jsonl": subprocess.run([orchfs, "cat", "audit"], check=True, capture_output=True).stdout,
         "changes.jsonl": subprocess.run([orchfs, "watch", "--no-follow"], check=True, capture_output=True).stdout}
for name, data in reads:
    if not final[name].startswith(data):
        errs.append("%s: a read of %d bytes is not the start of the stream" % (name, len(data)))
for name, data in final.items():
    if os.stat(mnt + "/" + name).st_size != len(data):
        errs.append("%s: stat says %d bytes, orchfs %d" % (name, os.stat(mnt + "/" + name).st_size, len(data)))
print("%d reads, %d bytes" % (len(reads), sum(len(d) for n, d in reads)))
for e in errs[:10]:
    print("FAIL:", e)
sys.exit(1 if errs or len(reads) < 24 else 0)
PY
out=$(python3 "$T/streams.py" "$MNT" "$DB" "$ORCHFS" "$(on_pg && echo 1 || echo 0)" 2>&1) || fail "stream readers: $out"
echo "# $out"
umount_fs || fail "clean unmount"
