#!/usr/bin/env python3
"""schema_parity.py - the PostgreSQL steps make the schema the SQLite steps make.

Applies migrations/project's SQLite steps (NNNN_name.up.sql) to an in-memory
SQLite database and the PostgreSQL steps (NNNN_name.up.pg.sql) to a scratch
PostgreSQL database (scripts/pg-server.sh newdb), then compares, table by
table: the tables and views and their columns (names and order), NOT NULL,
primary keys, foreign keys with their ON DELETE rule, UNIQUE constraints,
named indexes (columns, uniqueness, partial predicate), the value sets of
the CHECK (col IN (...)) constraints, column defaults, the triggers by name,
and the rows the steps seed. It also checks the type mapping: JSON columns
are jsonb, time columns timestamptz, REAL double precision, BLOB bytea.

    sh scripts/pg-server.sh && python3 tests/pg/schema_parity.py

Exit 0 when they agree, 1 with the differences listed, 77 when there is no
server and this user cannot make one. PGPORT as for scripts/pg-server.sh.
"""
import json
import os
import re
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STEPS = os.path.join(ROOT, "migrations", "project")
SERVER = os.path.join(ROOT, "scripts", "pg-server.sh")
DB = "orchfs_parity_%d" % os.getpid()
VERSION_TABLE = ("CREATE TABLE _orchfs_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                 "applied_at %s NOT NULL DEFAULT %s)")

# What SQLite has that PostgreSQL does not need, or has in another form.
# 0008_rewrites, 0009_replaces: counts the SQLite mount's rendering cache reads; PostgreSQL has no such cache
REWRITES_TRIGGERS = {t + "_rewrite_" + e for t in ("tool_executions", "_orchfs_changes")
                     for e in ("insert", "update", "delete", "replace")}
SQLITE_ONLY_TABLES = {"sqlite_sequence", "_orchfs_rewrites"}
RUNNER_TABLES = {"_orchfs_migrations"}        # the runner's, made here by hand on both
FTS = {"transcripts_fts"}                      # FTS5 tables: views in PostgreSQL
SQLITE_ONLY_TRIGGERS = {"transcripts_fts_insert", "transcripts_fts_delete", "transcripts_fts_update"} | REWRITES_TRIGGERS
PG_ONLY_TRIGGERS = {"_orchfs_changes_notify", "_orchfs_order"}  # 0010_feed_order: seq in commit order
PG_ONLY_INDEXES = {"transcripts_fts_document"}  # the GIN index behind transcripts_fts
PG_ONLY_VIEWS = {"zone_stats"}                  # a TEMP VIEW orchfs makes per connection on SQLite

problems = []


def problem(msg):
    problems.append(msg)


def steps(suffix):
    names = sorted(f for f in os.listdir(STEPS) if re.match(r"^\d{4}_.*" + re.escape(suffix) + "$", f))
    return [os.path.join(STEPS, f) for f in names]


# ---- SQLite --------------------------------------------------------------

def sqlite_schema():
    db = sqlite3.connect(":memory:")
    db.execute(VERSION_TABLE % ("TEXT", "(strftime('%Y-%m-%dT%H:%M:%fZ','now'))"))
    for i, f in enumerate(steps(".up.sql"), 1):
        db.executescript(open(f).read())
        db.execute("INSERT INTO _orchfs_migrations (version, name) VALUES (?, ?)", (i, os.path.basename(f)))
    s = {"tables": {}, "views": {}, "indexes": {}, "triggers": set()}
    for typ, name, tbl, sql in db.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema"):
        if name.startswith("sqlite_") or any(name.startswith(f + "_") for f in FTS) or name in FTS:
            continue
        if typ == "table":
            cols = []
            for cid, cname, ctype, notnull, dflt, pk in db.execute("PRAGMA table_info(%s)" % name):
                cols.append({"name": cname, "type": ctype.upper(), "notnull": bool(notnull or pk),
                             "default": dflt, "pk": pk})
            pk = [c["name"] for c in sorted(cols, key=lambda c: c["pk"]) if c["pk"]]
            fks = {}
            for row in db.execute("PRAGMA foreign_key_list(%s)" % name):
                fid, seq, ref, frm, to, on_update, on_delete = row[:7]
                fks.setdefault(fid, {"ref": ref, "from": [], "to": [], "on_delete": on_delete})
                fks[fid]["from"].append(frm)
                fks[fid]["to"].append(to)
            uniques = set()
            for _, iname, unique, origin, partial in db.execute("PRAGMA index_list(%s)" % name):
                if origin == "u":
                    uniques.add(tuple(r[2] for r in db.execute("PRAGMA index_info(%s)" % iname)))
            s["tables"][name] = {"columns": cols, "pk": pk,
                                 "fks": sorted((tuple(f["from"]), f["ref"], tuple(f["to"]), f["on_delete"])
                                               for f in fks.values()),
                                 "uniques": uniques, "sql": sql}
        elif typ == "view":
            s["views"][name] = [r[1] for r in db.execute("PRAGMA table_info(%s)" % name)]
        elif typ == "index" and sql:
            unique = sql.upper().startswith("CREATE UNIQUE")
            cols = [r[2] for r in db.execute("PRAGMA index_info(%s)" % name)]
            m = re.search(r"\bWHERE\b(.*)$", sql, re.S)
            s["indexes"][name] = {"table": tbl, "columns": cols, "unique": unique,
                                  "where": m.group(1).strip() if m else None}
        elif typ == "trigger":
            s["triggers"].add(name)
    s["seed"] = {
        "zones": [dict(zip([d[0] for d in c.description], r))
                  for c in [db.execute("SELECT * FROM zones ORDER BY id")] for r in c.fetchall()],
        "documents": [dict(zip([d[0] for d in c.description], r))
                      for c in [db.execute("SELECT * FROM documents ORDER BY name")] for r in c.fetchall()],
    }
    s["changes"] = db.execute("SELECT count(*) FROM _orchfs_changes").fetchone()[0]
    return s


# ---- PostgreSQL ----------------------------------------------------------

def psql(url, *args, stdin=None):
    r = subprocess.run(["psql", url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"] + list(args),
                       input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("psql failed: %s\n%s" % (" ".join(args)[:200], r.stderr))
    return r.stdout


def pg_json(url, sql):
    out = psql(url, "-c", "SELECT coalesce(json_agg(t), '[]') FROM (%s) t" % sql)
    return json.loads(out)


def pg_schema(url):
    psql(url, "-c", VERSION_TABLE % ("TIMESTAMPTZ", "now()"))
    for i, f in enumerate(steps(".up.pg.sql"), 1):
        psql(url, "-c", "BEGIN", "-f", f, "-c",
             "INSERT INTO _orchfs_migrations (version, name) VALUES (%d, '%s')" % (i, os.path.basename(f)),
             "-c", "COMMIT")
    s = {"tables": {}, "views": {}, "indexes": {}, "triggers": set()}
    rels = pg_json(url, "SELECT c.oid::int AS oid, c.relname, c.relkind FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v')")
    cols = pg_json(url, "SELECT c.relname, a.attname, a.attnum, a.attnotnull, "
                        "format_type(a.atttypid, a.atttypmod) AS type, pg_get_expr(d.adbin, d.adrelid) AS dflt, "
                        "a.attidentity FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') AND a.attnum > 0 "
                        "AND NOT a.attisdropped ORDER BY c.relname, a.attnum")
    cons = pg_json(url, "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) AS def, "
                        "(SELECT array_agg(a.attname ORDER BY x.i) FROM unnest(k.conkey) WITH ORDINALITY x(n, i) "
                        " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.n) AS cols, "
                        "(SELECT array_agg(a.attname ORDER BY x.i) FROM unnest(k.confkey) WITH ORDINALITY x(n, i) "
                        " JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.n) AS refcols, "
                        "r.relname AS ref, k.confdeltype FROM pg_constraint k "
                        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "LEFT JOIN pg_class r ON r.oid = k.confrelid WHERE n.nspname = 'public'")
    idx = pg_json(url, "SELECT i.relname AS name, t.relname AS tbl, x.indisunique AS uniq, "
                       "pg_get_indexdef(x.indexrelid) AS def, pg_get_expr(x.indpred, x.indrelid) AS pred, "
                       "(SELECT array_agg(coalesce(a.attname, '(expr)') ORDER BY k.i) "
                       " FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(n, i) "
                       " LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n) AS cols, "
                       "EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) AS constraint "
                       "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                       "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                       "WHERE n.nspname = 'public'")
    trg = pg_json(url, "SELECT g.tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND NOT g.tgisinternal")
    dels = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
    for r in rels:
        name = r["relname"]
        rc = [c for c in cols if c["relname"] == name]
        if r["relkind"] == "v":
            s["views"][name] = [c["attname"] for c in rc]
            continue
        rk = [k for k in cons if k["relname"] == name]
        pk = next((k["cols"] for k in rk if k["contype"] == "p"), [])
        s["tables"][name] = {
            "columns": [{"name": c["attname"], "type": c["type"], "notnull": c["attnotnull"], "default": c["dflt"],
                         "identity": c["attidentity"]} for c in rc],
            "pk": pk,
            "fks": sorted((tuple(k["cols"]), k["ref"], tuple(k["refcols"]), dels[k["confdeltype"]])
                          for k in rk if k["contype"] == "f"),
            "uniques": {tuple(k["cols"]) for k in rk if k["contype"] == "u"},
            "checks": [k["def"] for k in rk if k["contype"] == "c"],
        }
    for i in idx:
        if i["constraint"]:
            continue
        s["indexes"][i["name"]] = {"table": i["tbl"], "columns": i["cols"], "unique": i["uniq"],
                                   "where": i["pred"], "def": i["def"]}
    s["triggers"] = {t["tgname"] for t in trg}
    s["seed"] = {
        "zones": pg_json(url, "SELECT * FROM zones ORDER BY id"),
        "documents": pg_json(url, "SELECT * FROM documents ORDER BY name"),
    }
    s["changes"] = int(psql(url, "-c", "SELECT count(*) FROM _orchfs_changes").strip())
    return s


# ---- comparison ----------------------------------------------------------

def norm_default(d):
    if d is None:
        return None
    d = d.strip()
    if "strftime" in d or d in ("now()", "statement_timestamp()"):
        return "now"
    d = re.sub(r"::[a-z ]+$", "", d)       # '[]'::jsonb, 'x'::text
    while d.startswith("(") and d.endswith(")"):
        d = d[1:-1]
    return d


def in_sets_sqlite(sql):
    """{column: set of values} from CHECK (col IN ('a','b')) in a CREATE TABLE."""
    out = {}
    for m in re.finditer(r"CHECK \((\w+) IN \(([^)]*)\)", sql):
        out[m.group(1)] = {v.strip().strip("'") for v in m.group(2).split(",")}
    return out


def in_sets_pg(checks):
    out = {}
    for c in checks:
        m = re.match(r"CHECK \(\(?(\w+) = ANY \(ARRAY\[(.*)\]\)\)\)?$", c)
        if m:
            out[m.group(1)] = set(re.findall(r"'([^']*)'", m.group(2)) or re.findall(r"-?\d+", m.group(2)))
            continue
        m = re.match(r"CHECK \(\(?(\w+) = ANY \(\(ARRAY\[(.*)\]\)::\w+\[\]\)\)\)?$", c)
        if m:
            out[m.group(1)] = set(re.findall(r"'?(-?\w+)'?", m.group(2)))
    return out


def json_cols(sql):
    return set(re.findall(r"json_valid\((\w+)\)", sql))


def time_col(name):
    return name.endswith("_at") or name in ("timestamp", "time", "last_activity")


def main():
    r = subprocess.run(["sh", SERVER, "newdb", DB], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        if os.getuid() != 0:
            print("1..0 # SKIP no PostgreSQL server and not root to make one")
            sys.exit(77)
        sys.exit("scripts/pg-server.sh newdb failed")
    url = r.stdout.strip()
    try:
        lite = sqlite_schema()
        pg = pg_schema(url)
    finally:
        if os.environ.get("ORCHFS_PG_KEEP") != "1":
            subprocess.run(["sh", SERVER, "dropdb", DB], capture_output=True)

    lt = set(lite["tables"]) - SQLITE_ONLY_TABLES
    pt = set(pg["tables"])
    for t in sorted(lt - pt):
        problem("table %s: only in SQLite" % t)
    for t in sorted(pt - lt):
        problem("table %s: only in PostgreSQL" % t)
    for t in sorted(lt & pt - RUNNER_TABLES):
        L, P = lite["tables"][t], pg["tables"][t]
        ln = [c["name"] for c in L["columns"]]
        pn = [c["name"] for c in P["columns"]]
        if ln != pn:
            problem("%s: columns %s in SQLite, %s in PostgreSQL" % (t, ln, pn))
            continue
        if L["pk"] != P["pk"]:
            problem("%s: primary key %s vs %s" % (t, L["pk"], P["pk"]))
        if L["fks"] != P["fks"]:
            problem("%s: foreign keys %s vs %s" % (t, L["fks"], P["fks"]))
        if L["uniques"] != P["uniques"]:
            problem("%s: UNIQUE %s vs %s" % (t, sorted(L["uniques"]), sorted(P["uniques"])))
        ls, ps = in_sets_sqlite(L["sql"]), in_sets_pg(P["checks"])
        if ls != ps:
            problem("%s: CHECK value sets %s vs %s" % (t, ls, ps))
        # every CHECK but json_valid alone (the jsonb type does that) is there
        want_checks = len(re.findall(r"\bCHECK \(", L["sql"])) - len(re.findall(
            r"CHECK \((?:\w+ IS NULL OR )?json_valid\(\w+\)\)", L["sql"]))
        if len(P["checks"]) != want_checks:
            problem("%s: %d CHECKs in PostgreSQL, %d due: %s" % (t, len(P["checks"]), want_checks, P["checks"]))
        jc = json_cols(L["sql"])
        for lc, pc in zip(L["columns"], P["columns"]):
            n = lc["name"]
            if lc["notnull"] != pc["notnull"]:
                problem("%s.%s: NOT NULL %s vs %s" % (t, n, lc["notnull"], pc["notnull"]))
            ld, pd = norm_default(lc["default"]), norm_default(pc["default"])
            if lc["type"] == "INTEGER" and len(L["pk"]) == 1 and L["pk"][0] == n:
                if pc["identity"] != "d":
                    problem("%s.%s: INTEGER PRIMARY KEY should be GENERATED BY DEFAULT AS IDENTITY" % (t, n))
            elif ld != pd:
                problem("%s.%s: default %r vs %r" % (t, n, lc["default"], pc["default"]))
            want = None
            if n in jc:
                want = "jsonb"
            elif lc["type"] == "TEXT" and time_col(n):
                want = "timestamp with time zone"
            elif lc["type"] == "TEXT":
                want = "text"
            elif lc["type"] == "REAL":
                want = "double precision"
            elif lc["type"] == "BLOB":
                want = "bytea"
            elif lc["type"] == "INTEGER":
                want = ("integer",) if re.search(r"\b%s\s+INTEGER[^,]*IN \(0, 1\)" % n, L["sql"]) else ("bigint",)
            ok = pc["type"] in want if isinstance(want, tuple) else pc["type"] == want
            if not ok:
                problem("%s.%s: %s in SQLite, %s in PostgreSQL (want %s)" % (t, n, lc["type"], pc["type"], want))
    lv = set(lite["views"]) | FTS | PG_ONLY_VIEWS
    pv = set(pg["views"])
    if lv != pv:
        problem("views: %s vs %s" % (sorted(lv), sorted(pv)))
    for v in sorted(set(lite["views"]) & pv):
        if lite["views"][v] != pg["views"][v]:
            problem("view %s: columns %s vs %s" % (v, lite["views"][v], pg["views"][v]))
    if pg["views"].get("transcripts_fts") != ["rowid", "document"]:
        problem("view transcripts_fts: columns %s" % pg["views"].get("transcripts_fts"))
    li, pi = set(lite["indexes"]), set(pg["indexes"]) - PG_ONLY_INDEXES
    for i in sorted(li ^ pi):
        problem("index %s: only in %s" % (i, "SQLite" if i in li else "PostgreSQL"))
    for i in sorted(li & pi):
        L, P = lite["indexes"][i], pg["indexes"][i]
        if (L["table"], L["columns"], L["unique"]) != (P["table"], P["columns"], P["unique"]):
            problem("index %s: %s vs %s" % (i, L, P))
        if (L["where"] is None) != (P["where"] is None) or (
                L["where"] and re.sub(r"[()\s]", "", L["where"]).lower() !=
                re.sub(r"[()\s]", "", P["where"]).lower()):
            problem("index %s: WHERE %r vs %r" % (i, L["where"], P["where"]))
    fts = pg["indexes"].get("transcripts_fts_document", {})
    if "gin" not in fts.get("def", "") or "_orchfs_fts_document(content)" not in fts.get("def", ""):
        problem("transcripts_fts_document: %s" % fts.get("def"))
    lg = lite["triggers"] - SQLITE_ONLY_TRIGGERS
    pg_tr = pg["triggers"] - PG_ONLY_TRIGGERS
    for g in sorted(lg ^ pg_tr):
        problem("trigger %s: only in %s" % (g, "SQLite" if g in lg else "PostgreSQL"))
    # seeded rows: the same values (JSON compared parsed, times as instants)
    for table, rows in lite["seed"].items():
        prow = pg["seed"][table]
        if len(rows) != len(prow):
            problem("%s: %d seeded rows vs %d" % (table, len(rows), len(prow)))
            continue
        for a, b in zip(rows, prow):
            for k, v in a.items():
                w = b.get(k)
                if isinstance(v, str) and isinstance(w, (list, dict)):
                    v = json.loads(v)
                elif isinstance(v, str) and isinstance(w, str) and time_col(k):
                    v = v.replace("T", " ").replace(".000Z", "").replace("Z", "")
                    w = re.sub(r"([+-]00(:00)?)$", "", w.replace("T", " "))
                if isinstance(v, (int, float)) and isinstance(w, (int, float)):
                    v, w = float(v), float(w)
                if v != w:
                    problem("%s %s.%s: %r vs %r" % (table, a.get("id", a.get("name")), k, v, w))
    if lite["changes"] != pg["changes"]:
        problem("_orchfs_changes after the steps: %d rows vs %d" % (lite["changes"], pg["changes"]))

    ntab = len(lt & pt)
    if problems:
        for p in problems:
            print("not ok - " + p)
        print("0 passed, %d failed" % len(problems))
        sys.exit(1)
    print("ok - %d tables, %d views, %d indexes, %d triggers agree" %
          (ntab, len(pv), len(pi), len(pg_tr)))
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
