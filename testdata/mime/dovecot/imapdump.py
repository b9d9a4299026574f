#!/usr/bin/env python3
"""Append every corpus message to an IMAP server and dump raw FETCH responses."""
import socket, ssl, sys, os, re
host, port, user, pw, corpus, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
s = socket.create_connection((host, port))
f = s.makefile('rb')
tagn = [0]
def readresp(tag):
    lines = []
    while True:
        l = f.readline()
        if not l: raise SystemExit('eof')
        m = re.search(rb'\{(\d+)\}\r\n$', l)
        while m:
            n = int(m.group(1)); data = f.read(n); l += data; rest = f.readline(); l += rest
            m = re.search(rb'\{(\d+)\}\r\n$', rest)
        lines.append(l)
        if l.startswith(tag.encode() + b' '): return lines
def cmd(c, lit=None):
    tagn[0] += 1; tag = 't%d' % tagn[0]
    if lit is None:
        s.sendall(('%s %s\r\n' % (tag, c)).encode())
    else:
        s.sendall(('%s %s {%d+}\r\n' % (tag, c, len(lit))).encode() + lit + b'\r\n')
    return readresp(tag)
f.readline()
cmd('LOGIN %s %s' % (user, pw))
cmd('ENABLE IMAP4rev1')
cmd('CREATE anacorpus'); 
r = cmd('SELECT anacorpus')
if any(b' EXISTS' in l and not l.startswith(b'* 0 ') for l in r):
    cmd('STORE 1:* +FLAGS.SILENT (\\Deleted)'); cmd('EXPUNGE')
uids = []
files = sorted(x for x in os.listdir(corpus) if x.endswith('.eml'))
for fn in files:
    data = open(os.path.join(corpus, fn), 'rb').read()
    r = cmd('APPEND anacorpus', data)
    m = re.search(rb'APPENDUID \d+ (\d+)', r[-1])
    uids.append(int(m.group(1)) if m else None)
    if not m: sys.stderr.write('append %s: %r\n' % (fn, r[-1]))
cmd('NOOP')
items = [
 'ENVELOPE', 'BODY', 'BODYSTRUCTURE', 'RFC822.SIZE',
 'BODY.PEEK[HEADER]', 'BODY.PEEK[TEXT]', 'BODY.PEEK[1]', 'BODY.PEEK[1.MIME]', 'BODY.PEEK[2]', 'BODY.PEEK[2.MIME]',
 'BODY.PEEK[2.HEADER]', 'BODY.PEEK[2.TEXT]', 'BODY.PEEK[2.1]', 'BODY.PEEK[2.2]', 'BODY.PEEK[1.1]', 'BODY.PEEK[3]', 'BODY.PEEK[9]',
 'BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)]', 'BODY.PEEK[HEADER.FIELDS.NOT (FROM SUBJECT)]', 'BODY.PEEK[2.HEADER.FIELDS (SUBJECT)]',
 'BODY.PEEK[]<5.20>', 'BODY.PEEK[1]<2.5>',
 'BINARY.PEEK[1]', 'BINARY.SIZE[1]', 'BINARY.PEEK[2]', 'BINARY.SIZE[2]', 'BINARY.PEEK[3]', 'BINARY.PEEK[]', 'BINARY.PEEK[1]<1.4>',
 'PREVIEW',
]
with open(out, 'wb') as o:
    for i, fn in zip(uids, files):
        if i is None: continue
        for it in items:
            r = cmd('UID FETCH %d (%s)' % (i, it))
            o.write(('== %s %s\n' % (fn, it)).encode())
            for l in r:
                l = re.sub(rb'^t\d+ ', b'T ', l); l = re.sub(rb'^\* \d+ FETCH \(UID \d+ ', b'* FETCH (', l); l = re.sub(rb' UID \d+\)', b')', l)
                l = re.sub(rb' \(\d+\.\d+ \+ \d+\.\d+ secs\)', b'', l)
                o.write(l.rstrip(b'\r\n') + b'\n' if b'{' not in l else l.replace(b'\r\n', b'\\r\\n\n'))
cmd('LOGOUT')
