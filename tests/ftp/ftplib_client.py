"""Drives the netreactor FTP server with Python's ftplib; every check asserts.

usage: ftplib_client.py PORT ROOT SCENARIO
ROOT is the home of user foo (perms elradfmwMT); user ro (perms elr) shares it; one user per
missing letter is named no_<letter> (all letters but that one).
"""
import ftplib
import io
import os
import sys

port, root, scenario = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def connect(user="foo", password="bar", passive=True):
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", port, timeout=10)
    ftp.login(user, password)
    ftp.set_pasv(passive)
    return ftp


def expect_error(code, fn, *args):
    try:
        fn(*args)
    except ftplib.all_errors as e:
        assert str(e).startswith(code), f"expected {code}, got {e}"
        return
    raise AssertionError(f"expected {code}, got success")


def transfers(passive):
    ftp = connect(passive=passive)
    assert ftp.pwd() == "/"
    d = "dir_" + ("pasv" if passive else "port")
    assert ftp.mkd(d) == "/" + d
    ftp.cwd(d)
    assert ftp.pwd() == "/" + d
    blob = os.urandom(3 * 1024 * 1024 + 17)
    ftp.storbinary("STOR blob.bin", io.BytesIO(blob))
    assert open(os.path.join(root, d, "blob.bin"), "rb").read() == blob
    got = io.BytesIO()
    ftp.retrbinary("RETR blob.bin", got.write)
    assert got.getvalue() == blob, "binary RETR differs"
    assert ftp.size("blob.bin") == len(blob)
    mdtm = ftp.sendcmd("MDTM blob.bin")
    assert mdtm.startswith("213 ") and len(mdtm) == 18, mdtm
    # ASCII: LF on disk, CRLF on the wire, LF again after a round trip.
    text = b"line one\nline two\n\nlast"
    ftp.storlines("STOR text.txt", io.BytesIO(text))
    assert open(os.path.join(root, d, "text.txt"), "rb").read() == text + b"\n"
    raw = []
    ftp.retrlines("RETR text.txt", raw.append)
    assert raw == ["line one", "line two", "", "last"], raw
    conn = ftp.transfercmd("RETR text.txt")
    wire = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        wire += chunk
    conn.close()
    ftp.voidresp()
    assert wire == b"line one\r\nline two\r\n\r\nlast\r\n", wire
    ftp.voidcmd("TYPE I")
    # APPE
    ftp.storbinary("APPE blob.bin", io.BytesIO(b"tail"))
    assert ftp.size("blob.bin") == len(blob) + 4
    # REST: resume a download and an upload.
    got = io.BytesIO()
    ftp.retrbinary("RETR blob.bin", got.write, rest=1000)
    assert got.getvalue() == blob[1000:] + b"tail"
    ftp.storbinary("STOR half.bin", io.BytesIO(blob[:5000]))
    ftp.storbinary("STOR half.bin", io.BytesIO(blob[5000:]), rest=5000)
    assert open(os.path.join(root, d, "half.bin"), "rb").read() == blob
    # Listings.
    names = sorted(ftp.nlst())
    assert names == ["blob.bin", "half.bin", "text.txt"], names
    facts = dict(ftp.mlsd())
    assert facts["blob.bin"]["type"] == "file" and int(facts["blob.bin"]["size"]) == len(blob) + 4
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert len(lines) == 3 and lines[0].startswith("-rw") and lines[0].endswith("blob.bin"), lines
    # Rename, delete, remove.
    ftp.rename("half.bin", "whole.bin")
    assert os.path.exists(os.path.join(root, d, "whole.bin"))
    for f in ["whole.bin", "blob.bin", "text.txt"]:
        ftp.delete(f)
    ftp.cwd("..")
    ftp.rmd(d)
    assert not os.path.exists(os.path.join(root, d))
    ftp.quit()


def permissions():
    with open(os.path.join(root, "perm.txt"), "wb") as f:
        f.write(b"data")
    os.makedirs(os.path.join(root, "permdir"), exist_ok=True)
    checks = {
        "e": lambda f: f.cwd("permdir"),
        "l": lambda f: f.nlst(),
        "r": lambda f: f.retrbinary("RETR perm.txt", lambda b: None),
        "a": lambda f: f.storbinary("APPE perm.txt", io.BytesIO(b"x")),
        "d": lambda f: f.delete("perm.txt"),
        "f": lambda f: f.sendcmd("RNFR perm.txt"),
        "m": lambda f: f.mkd("newdir"),
        "w": lambda f: f.storbinary("STOR new.txt", io.BytesIO(b"x")),
        "M": lambda f: f.sendcmd("SITE CHMOD 644 perm.txt"),
        "T": lambda f: f.sendcmd("MFMT 20200101000000 perm.txt"),
    }
    for letter, action in checks.items():
        ftp = connect("no_" + letter, "pw")
        expect_error("550", action, ftp)
        ftp.quit()
    assert open(os.path.join(root, "perm.txt"), "rb").read() == b"data"
    assert not os.path.exists(os.path.join(root, "newdir"))
    # Anonymous: read-only.
    ftp = connect("anonymous", "guest@example.com")
    got = io.BytesIO()
    ftp.retrbinary("RETR perm.txt", got.write)
    assert got.getvalue() == b"data"
    expect_error("550", ftp.storbinary, "STOR anon.txt", io.BytesIO(b"x"))
    expect_error("550", ftp.delete, "perm.txt")
    expect_error("550", ftp.mkd, "anondir")
    ftp.quit()
    # A wrong password is refused (after the delay).
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", port, timeout=10)
    expect_error("530", ftp.login, "foo", "wrong")
    ftp.close()


def traversal():
    ftp = connect()
    outside = os.path.dirname(os.path.abspath(root))
    for path in ["../", "../../..", "/..", "..\\..", "/../../etc"]:
        try:
            ftp.cwd(path)
        except ftplib.error_perm:
            pass
        assert not ftp.pwd().startswith(".."), ftp.pwd()
    ftp.cwd("/")
    for path in ["../secret.txt", "/../secret.txt", "../../../../../../etc/passwd",
                 "link_out/secret.txt", "link_out"]:
        expect_error("550", ftp.retrbinary, f"RETR {path}", lambda b: None)
    for path in ["link_out/evil.txt", "dangling"]:
        expect_error("550", ftp.storbinary, f"STOR {path}", io.BytesIO(b"evil"))
    assert not os.path.exists(os.path.join(outside, "evil.txt"))
    expect_error("550", ftp.cwd, "link_out")
    # Bounce: PORT/EPRT to any address but the client's own, or to a privileged port.
    for cmd in ["PORT 10,0,0,1,4,1", "PORT 127,0,0,2,4,1", "PORT 192,168,0,1,0,80",
                "EPRT |1|10.0.0.1|1025|", "EPRT |1|127.0.0.2|1025|", "EPRT |2|::2|1025|"]:
        expect_error("501", ftp.sendcmd, cmd)
    for cmd in ["PORT 127,0,0,1,0,25", "EPRT |1|127.0.0.1|21|"]:
        expect_error("504", ftp.sendcmd, cmd)
    ftp.quit()


def abort():
    import socket
    import struct
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.truncate(64 * 1024 * 1024)
    ftp = connect()
    ftp.voidcmd("TYPE I")
    # ABOR during a RETR: 426 for the transfer, then 226 for the ABOR.
    conn = ftp.transfercmd("RETR big.bin")
    assert len(conn.recv(4096)) > 0
    # ftplib's own abort(): it sends ABOR with MSG_OOB (urgent data), which the server
    # takes inline and reads past the urgent mark.
    resp = ftp.abort()
    assert resp.startswith("426"), resp
    assert ftp.voidresp().startswith("226")
    conn.close()
    assert ftp.pwd() == "/"
    # A STOR whose data connection is reset says so (426) and the server goes on.
    conn = ftp.transfercmd("STOR broken.bin")
    conn.sendall(b"x" * 100000)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    expect_error("426", ftp.voidresp)
    # A complete STOR right after is whole on disk when 226 arrives.
    blob = os.urandom(1 << 20)
    ftp.storbinary("STOR whole.bin", io.BytesIO(blob))
    assert open(os.path.join(root, "whole.bin"), "rb").read() == blob
    ftp.quit()


def resume():
    ftp = connect()
    path = os.path.join(root, "r.bin")
    blob = os.urandom(300000)
    ftp.storbinary("STOR r.bin", io.BytesIO(blob[:100000]))
    # A resumed upload (REST n + STOR) writes from n...
    ftp.storbinary("STOR r.bin", io.BytesIO(blob[100000:]), rest=100000)
    assert open(path, "rb").read() == blob
    # ...and keeps what lies beyond what it wrote.
    ftp.storbinary("STOR r.bin", io.BytesIO(b"XYZ"), rest=10)
    assert open(path, "rb").read() == blob[:10] + b"XYZ" + blob[13:]
    # REST + APPE makes no sense: 450, and the file is untouched.
    expect_error("450", ftp.storbinary, "APPE r.bin", io.BytesIO(b"x"), 8192, None, 5)
    assert len(open(path, "rb").read()) == len(blob)
    # REST + STOR of a missing file: an error, and no file.
    expect_error("550", ftp.storbinary, "STOR missing.bin", io.BytesIO(b"x"), 8192, None, 10)
    assert not os.path.exists(os.path.join(root, "missing.bin"))
    # FEAT shows the facts OPTS MLST selected; argument syntax is checked.
    ftp.sendcmd("OPTS MLST type;size;")
    assert " MLST type*;size*;modify;perm;unique;unix.mode;" in ftp.sendcmd("FEAT")
    expect_error("501", ftp.sendcmd, "OPTS MLST bad_fact")
    expect_error("501", ftp.sendcmd, "PWD x")
    expect_error("501", ftp.sendcmd, "ALLO")
    ftp.quit()


{"pasv": lambda: transfers(True), "abort": abort, "port": lambda: transfers(False),
 "perms": permissions, "traversal": traversal, "resume": resume}[scenario]()
print("ok")
