"""Drives the netreactor FTP server over FTPS with Python's ftplib.FTP_TLS; every check
asserts.

usage: ftplib_tls_client.py PORT ROOT CA SCENARIO
ROOT is the home of user foo (perms elradfmwMT); CA is the server's certificate, verified
for 127.0.0.1.
"""
import ftplib
import io
import os
import ssl
import sys

port, root, ca, scenario = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def context():
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = True
    return ctx


def connect(passive=True, protect=True):
    ftp = ftplib.FTP_TLS(context=context())
    ftp.connect("127.0.0.1", port, timeout=10)
    ftp.login("foo", "bar")  # AUTH TLS first: FTP_TLS.login secures the control connection
    assert isinstance(ftp.sock, ssl.SSLSocket)
    if protect:
        assert ftp.prot_p().startswith("200")
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
    d = "tls_" + ("pasv" if passive else "port")
    ftp.mkd(d)
    ftp.cwd(d)
    blob = os.urandom(2 * 1024 * 1024 + 3)
    ftp.storbinary("STOR blob.bin", io.BytesIO(blob))
    assert open(os.path.join(root, d, "blob.bin"), "rb").read() == blob
    got = io.BytesIO()
    ftp.retrbinary("RETR blob.bin", got.write)
    assert got.getvalue() == blob, "RETR over TLS differs"
    text = b"one\ntwo\n"
    ftp.storlines("STOR t.txt", io.BytesIO(text))
    lines = []
    ftp.retrlines("RETR t.txt", lines.append)
    assert lines == ["one", "two"], lines
    listing = []
    ftp.retrlines("LIST", listing.append)
    assert any(l.endswith(" blob.bin") for l in listing), listing
    assert sorted(ftp.nlst()) == ["blob.bin", "t.txt"]
    facts = dict(ftp.mlsd())
    assert facts["blob.bin"]["size"] == str(len(blob)), facts
    # PROT C on the same session: the data channel in plaintext, still allowed.
    assert ftp.prot_c().startswith("200")
    assert sorted(ftp.nlst()) == ["blob.bin", "t.txt"]
    expect_error("534", ftp.sendcmd, "CCC")
    ftp.quit()


def truncated_upload():
    # An upload whose client closes without close_notify: 426, nothing stored.
    ftp = connect()
    conn = ftp.transfercmd("STOR cut.bin")
    assert isinstance(conn, ssl.SSLSocket)
    conn.sendall(b"x" * 100000)
    conn.close()  # no unwrap(): TCP FIN without TLS close_notify
    expect_error("426", ftp.voidresp)
    assert not os.path.exists(os.path.join(root, "cut.bin"))
    assert not any("cut.bin" in n for n in os.listdir(root)), os.listdir(root)
    # With unwrap() the same upload is stored.
    conn = ftp.transfercmd("STOR whole.bin")
    conn.sendall(b"y" * 100000)
    conn.unwrap()
    conn.close()
    assert ftp.voidresp().startswith("226")
    assert open(os.path.join(root, "whole.bin"), "rb").read() == b"y" * 100000
    ftp.quit()


if scenario == "transfers":
    transfers(passive=True)
    transfers(passive=False)
    truncated_upload()
elif scenario == "required":
    # --ftp-tls-required: a plaintext login is refused, so is a clear data channel.
    plain = ftplib.FTP()
    plain.connect("127.0.0.1", port, timeout=10)
    expect_error("530", plain.login, "foo", "bar")
    plain.close()
    ftp = connect(protect=False)
    expect_error("521", ftp.nlst)
    assert ftp.prot_p().startswith("200")
    assert "link_out" in ftp.nlst()
    ftp.quit()
elif scenario == "reuse":
    # --ftp-tls-require-reuse: ftplib wraps each data socket without the control
    # connection's session, so the data connection cannot resume it: 522.
    ftp = connect()
    try:
        ftp.nlst()
    except (ftplib.all_errors + (ssl.SSLError, OSError)) as e:
        text = str(e)
        if not text.startswith("522"):
            # The data socket failed first (the server closed it after the handshake);
            # the refusal waits on the control connection.
            expect_error("522", ftp.getresp)
    else:
        raise AssertionError("expected 522")
    ftp.quit()
else:
    raise SystemExit(f"unknown scenario {scenario}")
print("ok")
