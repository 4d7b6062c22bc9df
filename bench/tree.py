#!/usr/bin/env python3
"""tree.py - the benchmark's baseline tree, made from the database, not the mount.

  tree.py ORCHFS DB MAPPING OUT COLLECTION...

(ORCHFS_USER_DB names the user database, as for orchfs itself.)

Writes into OUT what an orchfs mount of DB shows for each COLLECTION (a
directory of the mapping MAPPING, a JSON file of mappings/): COLLECTION/ and
COLLECTION.jsonl, byte for byte, with the mount's modification times on the
entities' files and directories, so that bench/run.sh can serve it with
floorfs and time it on tmpfs without copying 100,000 entities through FUSE
(one round trip per file and directory: the copy took longer than the
benchmark). What it cannot know it does not guess: the documents and the
streams come from `orchfs cat` (orchfs's own rendering, read from the
database), re-indented as the mount shows a file (two spaces, one field a
line); logs are the rows of their table, one compact JSON object a line,
fields in the mapping's order. Views are symbolic links, as in the mount.

It covers what the mapping of the benchmark uses: entities as files or as
directories, their logs, relations, stored files (blobs), column views and
views grouped by a relation. bench/run.sh checks, before any timing, that
the trees' outputs are the same for every read workload, and that a few of
its files are identical to the mount's (cmp): a difference in rendering
stops the run instead of timing different bytes.
"""
import json
import os
import sqlite3
import subprocess
import sys


def q(name):
    return '"' + name.replace('"', '""') + '"'


def compact(v):
    return json.dumps(v, ensure_ascii=False, separators=(',', ':'))


def pretty(v):
    return json.dumps(v, ensure_ascii=False, indent=2) + '\n'


def value(col, v):
    """A column's value as the mount shows it (the types of this mapping)."""
    if v is None:
        return None
    t = col.get('type', 'text')
    if t == 'json':
        return json.loads(v)
    if t == 'boolean':
        return bool(v)
    return v


def iso_to_ns(text):
    """'2024-01-01T00:02:00.000Z' -> nanoseconds since the epoch (UTC), or None."""
    import datetime
    try:
        d = datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%S.%fZ')
    except (TypeError, ValueError):
        try:
            d = datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ')
        except (TypeError, ValueError):
            return None
    d = d.replace(tzinfo=datetime.timezone.utc)
    return (int(d.replace(microsecond=0).timestamp()) * 1000000 + d.microsecond) * 1000


def write(path, data, mtime=None):
    with open(path, 'w', encoding='utf-8', newline='') as f:
        f.write(data)
    if mtime is not None:
        os.utime(path, ns=(mtime, mtime))


def main(argv):
    if len(argv) < 6:
        sys.stderr.write(__doc__)
        return 2
    orchfs, dbpath, mapping, out = argv[1:5]
    wanted = argv[5:]
    m = json.load(open(mapping))
    colls = {}
    for d in m['databases']:
        for c in d.get('collections', []):
            colls[c['dir']] = c
    db = sqlite3.connect('file:%s?mode=ro' % dbpath, uri=True)

    for name in wanted:
        c = colls[name]
        keycol = c['key']
        is_dir = c.get('form') == 'dir'
        suffix = '' if is_dir else '.json'
        updated = next((x['name'] for x in c['columns'] if x.get('type') == 'updated'), None)

        # The stream and the documents: orchfs's rendering, from the database.
        stream = subprocess.run([orchfs, 'cat', name], check=True, stdout=subprocess.PIPE,
                                env=dict(os.environ, ORCHFS_DB=dbpath)).stdout
        root = os.path.join(out, name)
        os.makedirs(root)
        with open(os.path.join(out, name + '.jsonl'), 'wb') as f:
            f.write(stream)
        docs = [json.loads(line) for line in stream.decode('utf-8').splitlines() if line]
        mtimes = {}
        for doc in docs:
            key = str(doc[keycol])
            mt = iso_to_ns(doc.get(updated)) if updated else None
            mtimes[key] = mt
            if is_dir:
                edir = os.path.join(root, key)
                os.mkdir(edir)
                write(os.path.join(edir, c['file']), pretty(doc), mt)
                for lg in c.get('logs', []):
                    cols = lg['columns']
                    sql = 'SELECT %s FROM %s WHERE %s = ? ORDER BY %s' % (
                        ', '.join(q(x.get('column', x['name'])) for x in cols), q(lg['table']),
                        q(lg['owner']), q(lg['id']))
                    lines = [compact({x['name']: value(x, v) for x, v in zip(cols, row)}) + '\n'
                             for row in db.execute(sql, (key,))]
                    write(os.path.join(edir, lg['file']), ''.join(lines), mt)
                for r in c.get('relations', []):
                    rdir = os.path.join(edir, r['dir'])
                    os.mkdir(rdir)
                    tgt = colls[r['target']]
                    tsuffix = '' if tgt.get('form') == 'dir' else '.json'
                    for (to,) in db.execute('SELECT %s FROM %s WHERE %s = ?' % (q(r['to']), q(r['table']),
                                                                             q(r['from'])), (key,)):
                        os.symlink('../../../%s/%s%s' % (tgt['dir'], to, tsuffix), os.path.join(rdir, str(to)))
                for b in c.get('blobs', []):
                    bdir = os.path.join(edir, b['dir'])
                    os.mkdir(bdir)
                    for fname, data in db.execute('SELECT %s, %s FROM %s WHERE %s = ?' % (
                            q(b['name']), q(b['content']), q(b['table']), q(b['owner'])), (key,)):
                        with open(os.path.join(bdir, fname), 'wb') as f:
                            f.write(data)
                        if mt is not None:
                            os.utime(os.path.join(bdir, fname), ns=(mt, mt))
                if mt is not None:
                    os.utime(edir, ns=(mt, mt))
            else:
                write(os.path.join(root, key + suffix), pretty(doc), mt)

        # Views: a directory per value, a link per entity.
        for v in c.get('views', []):
            vdir = os.path.join(root, v['dir'])
            os.mkdir(vdir)
            groups = {}
            if 'column' in v:
                for doc in docs:
                    x = doc.get(v['column'])
                    if x is None:
                        continue
                    text = x if isinstance(x, str) else str(int(x) if isinstance(x, bool) else x)
                    groups.setdefault(text, []).append(str(doc[keycol]))
            else:
                owner, rel = v['relation'].split('/')
                r = next(x for x in colls[owner]['relations'] if x['dir'] == rel)
                live = set(mtimes)
                for frm, to in db.execute('SELECT %s, %s FROM %s' % (q(r['from']), q(r['to']), q(r['table']))):
                    if str(to) in live:
                        groups.setdefault(str(frm), []).append(str(to))
            for text, keys in groups.items():
                gdir = os.path.join(vdir, text)
                os.mkdir(gdir)
                for key in keys:
                    os.symlink('../../../%s/%s%s' % (name, key, suffix), os.path.join(gdir, key))
        # What every collection directory shows besides its entities.
        write(os.path.join(root, 'new'), '')
        if is_dir and c.get('logs') and any(lg.get('fts') for lg in c['logs']):
            os.mkdir(os.path.join(root, 'search'))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
