#!/usr/bin/python3
"""Loopback SMTP sink for the tests (aiosmtpd, Debian's python3-aiosmtpd).

Each accepted message becomes two files in MAILDIR, written atomically:
  NNNNNN.eml   the DATA bytes exactly as received (dot-unstuffed by aiosmtpd)
  NNNNNN.json  {"mail_from": ..., "rcpt_tos": [...], "eml": "NNNNNN.eml"}
The .json appears last, so a reader that sees it can read the .eml.

  smtp_sink.py --port P --maildir DIR [--refuse-first N] [--refuse-rcpt ADDR]...
               [--max-rcpt N] [--auth USER:PASSWORD]

--refuse-first N  answers 451 at end of DATA for the first N transactions (fault tests).
--refuse-rcpt A   answers 550 to RCPT TO:<A>.
--max-rcpt N      answers 452 to RCPT TO beyond N recipients in one transaction.
--auth U:P        requires AUTH (PLAIN/LOGIN, allowed without TLS on loopback).
Prints "READY <port>" on stdout once it accepts connections; stops on SIGTERM/SIGINT.
"""
import argparse
import json
import os
import signal
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, maildir, refuse_first, refuse_rcpt, max_rcpt=0):
        self.max_rcpt = max_rcpt
        self.maildir = maildir
        self.refuse_left = refuse_first
        self.refuse_rcpt = {a.lower() for a in refuse_rcpt}
        # Continue the numbering after a restart on the same directory.
        self.count = sum(1 for f in os.listdir(maildir) if f.endswith(".json"))
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse_rcpt:
            return "550 5.1.1 no such user here"
        if self.max_rcpt and len(envelope.rcpt_tos) >= self.max_rcpt:
            return "452 4.5.3 too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse_left > 0:
                self.refuse_left -= 1
                return "451 4.3.0 try again later"
            self.count += 1
            n = self.count
        stem = "%06d" % n
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        self._write(stem + ".eml", data)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "eml": stem + ".eml",
        }
        self._write(stem + ".json", json.dumps(meta).encode("utf-8"))
        return "250 OK message accepted"

    def _write(self, name, data):
        tmp = os.path.join(self.maildir, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.maildir, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--refuse-first", type=int, default=0)
    ap.add_argument("--refuse-rcpt", action="append", default=[])
    ap.add_argument("--max-rcpt", type=int, default=0)
    ap.add_argument("--auth", default=None)
    args = ap.parse_args()
    os.makedirs(args.maildir, exist_ok=True)

    handler = Sink(args.maildir, args.refuse_first, args.refuse_rcpt, args.max_rcpt)
    kwargs = {}
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                getattr(auth_data, "login", None) == user.encode()
                and getattr(auth_data, "password", None) == password.encode()
            )
            return AuthResult(success=ok, handled=False)

        kwargs.update(
            authenticator=authenticator, auth_required=True, auth_require_tls=False
        )
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=args.port,
        decode_data=False,
        server_kwargs=kwargs,
    )
    controller.start()
    print("READY %d" % args.port, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
