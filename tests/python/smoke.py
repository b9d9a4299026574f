#!/usr/bin/env python3
"""Smoke test of a running Rookery server with Python's stdlib imaplib.

Runs the same workflow twice: over implicit TLS (IMAP4_SSL) and over
plaintext + STARTTLS (IMAP4 + starttls()). The server's certificate is
self-signed, so certificate checks are off. Exits 0 on success and 1 with a
message naming the failed step otherwise.

Usage:
    smoke.py [--host H] [--port P] [--tls-port P] [--user U] [--password PW]

Each option defaults to an environment variable: ROOKERY_HOST (127.0.0.1),
ROOKERY_PORT (plaintext/STARTTLS), ROOKERY_TLS_PORT, ROOKERY_USER,
ROOKERY_PASSWORD. A mode whose port is not given is skipped; at least one
is required.
"""

import argparse
import datetime
import imaplib
import os
import re
import ssl
import sys

TIMEOUT = 20  # seconds, for every socket operation


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def ok(step, resp):
    """Checks an imaplib (typ, data) pair and returns data."""
    typ, data = resp
    if typ != "OK":
        raise Failure("%s: server answered %s %r" % (step, typ, data))
    return data


def unverified_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def crlf(text):
    return text.replace("\n", "\r\n").encode("utf-8")


def messages(tag):
    plain = crlf(
        "From: Alice <alice@example.org>\n"
        "To: Bob <bob@example.org>\n"
        "Subject: %s plain\n"
        "Message-ID: <plain-%s@example.org>\n"
        "\n"
        "Hello from imaplib.\n" % (tag, tag)
    )
    utf8 = crlf(
        "From: Carol <carol@example.org>\n"
        "To: Bob <bob@example.org>\n"
        "Subject: %s 8bit\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "Grüße aus Köln.\n" % tag
    )
    big = crlf(
        "From: Dave <dave@example.org>\nSubject: %s big\n\n" % tag
        + "".join("line %05d %s\n" % (i, "x" * 60) for i in range(3000))
    )
    zone = datetime.timezone(datetime.timedelta(hours=-7))
    return [
        (plain, r"(\Seen $Smoke)", datetime.datetime(2023, 5, 17, 10, 20, 30, tzinfo=zone)),
        (utf8, r"(\Flagged)", datetime.datetime(2023, 5, 18, 8, 0, 0, tzinfo=datetime.timezone.utc)),
        (big, "()", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
    ]


LIST_RE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?P<delim>"[^"]*"|NIL) (?P<name>.+)$')


def list_mailboxes(m):
    out = {}
    for line in ok("LIST", m.list()):
        if line is None:
            continue
        if isinstance(line, tuple):  # name sent as a literal
            head, name = line
            mo = LIST_RE.match(head.rsplit(b" ", 1)[0] + b" x")
            check(mo, "LIST: cannot parse %r" % (line,))
        else:
            mo = LIST_RE.match(line)
            check(mo, "LIST: cannot parse %r" % line)
            name = mo.group("name")
            if name.startswith(b'"'):
                name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        out[name.decode()] = mo.group("attrs").decode().lower().split()
    return out


def response_code(m, name, step):
    typ, data = m.response(name)
    check(data and data[0] is not None, "%s: no [%s] response code" % (step, name))
    return data[0].decode()


FETCH_UID_RE = re.compile(rb"UID (\d+)")
FETCH_FLAGS_RE = re.compile(rb"FLAGS \(([^)]*)\)")
FETCH_SIZE_RE = re.compile(rb"RFC822\.SIZE (\d+)")


def parse_fetch(data):
    """Turns imaplib FETCH data into a list of dicts (uid, flags, size, body)."""
    out = []
    cur = None
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            head, literal = item
            cur = {"meta": head, "body": literal}
            out.append(cur)
        elif item.strip() == b")" and cur is not None:
            cur = None
        elif cur is not None and item.endswith(b")"):
            cur["meta"] += item  # items after the literal
            cur = None
        else:
            out.append({"meta": item, "body": None})
            cur = None
    for f in out:
        meta = f["meta"]
        uid = FETCH_UID_RE.search(meta)
        flags = FETCH_FLAGS_RE.search(meta)
        size = FETCH_SIZE_RE.search(meta)
        f["uid"] = int(uid.group(1)) if uid else None
        f["flags"] = set(flags.group(1).decode().lower().split()) - {"\\recent"} if flags else None
        f["size"] = int(size.group(1)) if size else None
    return out


def flagset(s):
    return set(s.strip("()").lower().split())


def workflow(m, label, user, password):
    def step(name):
        return "%s: %s" % (label, name)

    caps = [c.upper() for c in m.capabilities]
    check("IMAP4REV1" in caps and "IMAP4REV2" in caps, step("capabilities %r lack IMAP4rev1/IMAP4rev2" % caps))
    ok(step("LOGIN"), m.login(user, password))

    boxes = list_mailboxes(m)
    for name, attr in [("INBOX", None), ("Drafts", "\\drafts"), ("Sent", "\\sent"),
                       ("Trash", "\\trash"), ("Junk", "\\junk"), ("Archive", "\\archive")]:
        check(name in boxes, step("LIST lacks %s: %r" % (name, sorted(boxes))))
        # Special-use attributes are part of IMAP4rev2's LIST.
        if attr and attr not in boxes[name]:
            print("note: %s: plain LIST shows %s without %s: %r" % (label, name, attr, boxes[name]))

    # Mailboxes: create nested, rename parent, delete.
    top, child = "Smoke" + label, "Smoke" + label + "/Child"
    ok(step("CREATE " + top), m.create(top))
    ok(step("CREATE " + child), m.create(child))
    ok(step("SUBSCRIBE"), m.subscribe(top))
    ok(step("RENAME"), m.rename(top, top + "Renamed"))
    boxes = list_mailboxes(m)
    check(top + "Renamed/Child" in boxes and top not in boxes,
          step("after RENAME: %r" % sorted(boxes)))
    ok(step("DELETE child"), m.delete(top + "Renamed/Child"))
    ok(step("DELETE parent"), m.delete(top + "Renamed"))
    check(m.create("INBOX")[0] != "OK", step("CREATE INBOX succeeded"))

    # APPEND three messages with flags and dates.
    ok(step("CREATE work mailbox"), m.create("Smoke" + label + "Work"))
    box = "Smoke" + label + "Work"
    msgs = messages(label)
    uids = []
    validity = None
    for raw, flags, date in msgs:
        data = ok(step("APPEND"), m.append(box, flags, imaplib.Time2Internaldate(date), raw))
        mo = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0] or b"")
        check(mo, step("APPEND: no APPENDUID in %r" % data))
        v, uid = int(mo.group(1)), int(mo.group(2))
        check(validity in (None, v), step("APPENDUID validity changed"))
        check(not uids or uid > uids[-1], step("APPENDUID UIDs do not ascend: %r then %d" % (uids, uid)))
        validity = v
        uids.append(uid)

    data = ok(step("SELECT"), m.select(box))
    check(data[0] == b"3", step("SELECT: %r messages, want 3" % data))

    data = ok(step("UID FETCH"), m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[])"))
    got = parse_fetch(data)
    check(len(got) == 3, step("UID FETCH 1:* returned %d messages: %r" % (len(got), data)))
    for f, uid, (raw, flags, _) in zip(got, uids, msgs):
        check(f["uid"] == uid, step("FETCH: UID %r, want %d" % (f["uid"], uid)))
        check(f["flags"] == flagset(flags), step("FETCH UID %d: FLAGS %r, want %s" % (uid, f["flags"], flags)))
        check(f["size"] == len(raw), step("FETCH UID %d: RFC822.SIZE %r, want %d" % (uid, f["size"], len(raw))))
        check(f["body"] == raw, step("FETCH UID %d: BODY[] differs (%d bytes, want %d)"
                                     % (uid, len(f["body"] or b""), len(raw))))

    # INTERNALDATE round-trips.
    data = ok(step("FETCH INTERNALDATE"), m.fetch("1", "(INTERNALDATE)"))
    t = imaplib.Internaldate2tuple(data[0])
    check(t is not None, step("cannot parse INTERNALDATE in %r" % data))
    check(datetime.datetime(*t[:6]).timestamp() == msgs[0][2].timestamp(),
          step("INTERNALDATE %r, want %s" % (data, msgs[0][2])))

    # STORE.
    data = ok(step("UID STORE +FLAGS"), m.uid("STORE", str(uids[2]), "+FLAGS", r"(\Flagged $Smoke2)"))
    f = parse_fetch(data)
    check(len(f) == 1 and f[0]["flags"] == {"\\flagged", "$smoke2"},
          step("UID STORE +FLAGS answered %r" % data))
    data = ok(step("STORE -FLAGS"), m.store("1", "-FLAGS", r"(\Seen)"))
    f = parse_fetch(data)
    check(len(f) == 1 and f[0]["flags"] == {"$smoke"}, step("STORE -FLAGS answered %r" % data))

    # COPY (COPYUID) and MOVE.
    ok(step("UID COPY"), m.uid("COPY", str(uids[0]), "Archive"))
    code = response_code(m, "COPYUID", step("UID COPY"))
    check(code.split()[1] == str(uids[0]), step("COPYUID %r: wrong source UID" % code))
    ok(step("UID MOVE"), m.uid("MOVE", str(uids[1]), "Trash"))
    code = response_code(m, "COPYUID", step("UID MOVE"))
    check(code.split()[1] == str(uids[1]), step("MOVE COPYUID %r: wrong source UID" % code))
    typ, expunged = m.response("EXPUNGE")
    check(expunged and expunged[0] == b"2", step("UID MOVE: EXPUNGE responses %r, want 2" % expunged))

    # EXPUNGE the third message (now sequence number 2).
    ok(step("STORE \\Deleted"), m.uid("STORE", str(uids[2]), "+FLAGS.SILENT", r"(\Deleted)"))
    data = ok(step("EXPUNGE"), m.expunge())
    check(data == [b"2"], step("EXPUNGE answered %r, want [b'2']" % data))
    data = ok(step("FETCH after EXPUNGE"), m.uid("FETCH", "1:*", "(UID)"))
    f = parse_fetch(data)
    check([x["uid"] for x in f] == [uids[0]], step("left after EXPUNGE: %r" % data))

    # Partial and section fetches of the survivor.
    raw = msgs[0][0]
    data = ok(step("FETCH BODY.PEEK[]<0.10>"), m.fetch("1", "(BODY.PEEK[]<0.10>)"))
    check(data[0][1] == raw[:10], step("BODY.PEEK[]<0.10>: %r" % (data,)))
    data = ok(step("FETCH BODY.PEEK[TEXT]"), m.fetch("1", "(BODY.PEEK[TEXT])"))
    check(data[0][1] == raw.split(b"\r\n\r\n", 1)[1], step("BODY.PEEK[TEXT]: %r" % (data,)))

    ok(step("CLOSE"), m.close())
    data = ok(step("STATUS"), m.status(box, "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE)"))
    st = data[0].decode()
    for want in ["MESSAGES 1", "UIDNEXT %d" % (uids[2] + 1), "UIDVALIDITY %d" % validity,
                 "UNSEEN 1", "SIZE %d" % len(raw)]:
        check(re.search(r"\b%s\b" % want, st), step("STATUS %r lacks %s" % (st, want)))

    ok(step("DELETE work mailbox"), m.delete(box))
    typ, _ = m.logout()
    check(typ == "BYE", step("LOGOUT answered %s" % typ))
    print("ok: %s workflow" % label)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--host", default=os.environ.get("ROOKERY_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=os.environ.get("ROOKERY_PORT"))
    p.add_argument("--tls-port", type=int, default=os.environ.get("ROOKERY_TLS_PORT"))
    p.add_argument("--user", default=os.environ.get("ROOKERY_USER"))
    p.add_argument("--password", default=os.environ.get("ROOKERY_PASSWORD"))
    a = p.parse_args()
    if not a.user or a.password is None or not (a.port or a.tls_port):
        p.error("need --user, --password and --port and/or --tls-port (or the ROOKERY_* variables)")

    modes = []
    if a.tls_port:
        modes.append(("TLS", lambda: imaplib.IMAP4_SSL(a.host, int(a.tls_port), ssl_context=unverified_context(),
                                                       timeout=TIMEOUT)))
    if a.port:
        def starttls():
            m = imaplib.IMAP4(a.host, int(a.port), timeout=TIMEOUT)
            caps = [c.upper() for c in m.capabilities]
            check("STARTTLS" in caps, "STARTTLS: not advertised: %r" % caps)
            ok("STARTTLS", m.starttls(ssl_context=unverified_context()))
            return m
        modes.append(("STARTTLS", starttls))

    for label, connect in modes:
        m = None
        try:
            m = connect()
            workflow(m, label, a.user, a.password)
            m = None
        except Failure as e:
            print("FAIL: %s" % e, file=sys.stderr)
            return 1
        except (imaplib.IMAP4.error, OSError) as e:
            print("FAIL: %s: %s: %s" % (label, type(e).__name__, e), file=sys.stderr)
            return 1
        finally:
            if m is not None:
                try:
                    m.shutdown()
                except OSError:
                    pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
