#!/usr/bin/env python3
"""Write the collection tables of docs/format.md.

doc-collections.py PROJECT_DB USER_DB [COLLECTION,...] prints, for every
collection of mappings/native.json (or the ones named, as `tasks` or
`user/budgets`), the section docs/format.md has between "## Collections"
and "Besides what the table says": what an entity is, its views, relations
and logs, and one row per field with its type, null, values, default and
notes. Defaults are read from the two databases (PRAGMA table_info), so
pass files that `orchfs init` just made."""
import json
import os
import re
import sqlite3
import sys

m = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'mappings', 'native.json')))
pdb = sqlite3.connect(sys.argv[1]); udb = sqlite3.connect(sys.argv[2])
want = sys.argv[3].split(',') if len(sys.argv) > 3 else None
def defaults(con, table):
    return {r[1]: (r[4], r[3]) for r in con.execute(f'PRAGMA table_info("{table}")')}
def fmt_default(col, d, notnull):
    t = col['type']
    if d is None:
        return '`null`' if not notnull else None
    if 'strftime' in d: return 'now'
    if d.startswith("'"):
        v = d[1:-1]
        if t == 'json': return '`%s`' % v
        return '`"%s"`' % v
    if t == 'boolean': return '`true`' if d == '1' else '`false`'
    return '`%s`' % d
TYPES = {'text':'string','integer':'integer','real':'number','boolean':'boolean','timestamp':'timestamp',
         'revision':'integer','created':'timestamp','updated':'timestamp'}
def ctype(c):
    if c['type'] == 'json':
        return {'array':'JSON array','object':'JSON object'}.get(c.get('shape'), 'JSON')
    return TYPES[c['type']]
def num(x):
    return str(int(x)) if float(x) == int(x) else str(x)
def values(c):
    if 'enum' in c: return ', '.join('`%s`' % v for v in c['enum'])
    if 'min' in c and 'max' in c: return '%s to %s' % (num(c['min']), num(c['max']))
    if 'min' in c: return 'at least %s' % num(c['min'])
    return ''
def table(cols, con, tbl, key=None, coll_dir=None, log=False, roc=False):
    dd = defaults(con, tbl)
    out = ['| Field | Type | Null | Values | Default | Notes |', '|---|---|---|---|---|---|']
    for c in cols:
        sqlc = c.get('column', c['name'])
        d, notnull = dd[sqlc]
        notes = []
        null = 'yes' if c.get('null') else 'no'
        ro = roc or c.get('readonly') or c['type'] in ('revision','created','updated')
        if c['name'] == key and not log:
            dflt = 'read-only'; notes.append('key')
        elif log and c['name'] == 'id':
            dflt = 'read-only'; notes.append('row number, set by orchfs')
        elif c['type'] == 'revision': dflt='read-only'; notes.append('+1 on every change')
        elif c['type'] == 'created': dflt='read-only'; notes.append('set on create')
        elif c['type'] == 'updated': dflt='read-only'; notes.append('set on every change')
        elif ro: dflt = 'read-only'
        else:
            f = fmt_default(c, d, notnull)
            if f is None or c.get('required'):
                dflt = '—'; notes.append('required on create' if not log else 'required')
            else: dflt = f
        if 'ref' in c: notes.append('names an existing entity of `%s/`' % (c['ref'] if coll_dir is None else coll_dir(c['ref'])))
        if 'column' in c: notes.append('column `%s`' % c['column'])
        if c.get('secret'): notes.append('secret: read as `****` + last 4')
        out.append('| `%s` | %s | %s | %s | %s | %s |' % (c['name'], ctype(c), null, values(c), dflt, '; '.join(notes)))
    return '\n'.join(out)
def section(db, c, con):
    pre = (db['dir'] + '/') if db['dir'] else ''
    path = pre + c['dir']
    lines = ['### %s/' % path, '']
    key = c['key']
    if c['form'] == 'dir':
        s = 'Table `%s`. Each entity is a directory `%s/<%s>/` holding `%s`' % (c['table'], path, key, c['file'])
    else:
        s = 'Table `%s`. Each entity is a file `%s/<%s>.json`' % (c['table'], path, key)
    a = c.get('alloc')
    if a == 'uuid': s += '; `new` allocates a random UUID'
    elif a == '%d': s += '; `new` allocates the next number'
    elif a: s += '; `new` allocates `%s`' % re.sub(r'%0?(\d)d', lambda mm: 'N'*int(mm.group(1)), a)
    if c.get('readonly'): s += '; read-only'
    lines.append(s + '.')
    if c.get('views'):
        vs = []
        for v in c['views']:
            if 'column' in v: vs.append('`%s/%s/<%s>/`' % (path, v['dir'], v['column']))
            else: vs.append('`%s/%s/<%s>/`' % (path, v['dir'], v['relation'].split('/')[0].rstrip('s')))
        lines.append('Views: ' + ', '.join(vs) + '.')
    if c.get('relations'):
        rs = []
        for r in c['relations']:
            x = '`%s/` → `%s/`' % (r['dir'], pre + r['target'])
            extra = []
            if r.get('order'): extra.append('ordered by `%s`' % r['order'])
            if r.get('unique'): extra.append('a target is linked from one entity at most')
            if extra: x += ' (' + '; '.join(extra) + ')'
            rs.append(x)
        lines.append('Relations: ' + ', '.join(rs) + '.')
    if c.get('logs'):
        lines.append('Logs: ' + ', '.join('`%s`' % l['file'] for l in c['logs']) + '.')
    lines += ['', table(c['columns'], con, c['table'], key, lambda r: pre + r, False, c.get('readonly', False)), '']
    for l in c.get('logs', []):
        lines += ['#### %s/<%s>/%s' % (path, key, l['file']), '',
                  'Table `%s`, one line per row, oldest first; `%s` is the entity\'s key.' % (l['table'], l['owner']), '',
                  table(l['columns'], con, l['table'], None, None, True), '']
    return '\n'.join(lines)
for db in m['databases']:
    con = pdb if db['name'] == 'project' else udb
    for c in db['collections']:
        name = (db['dir'] + '/' if db['dir'] else '') + c['dir']
        if want is None or name in want:
            print(section(db, c, con))
