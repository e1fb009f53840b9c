"""The benchmarks' SMTP server (aiosmtpd), run as its own process so it never shares a GIL with
the code being measured.

    python -m bench.smtpsink --port 2525 --log arrivals.log [--delay 2] [--cert c.pem --key k.pem]

Each accepted message appends "<unix time> <recipients>" to the log file. Lines on stdin change
the behaviour while it runs ("delay 2.0"); end of stdin (the parent is gone) stops it.
"""

import argparse
import asyncio
import logging
import ssl
import sys
import time

from aiosmtpd.controller import Controller


class ArrivalLog:
    def __init__(self, log, delay):
        self.log = log
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.log.write(f"{time.time():.6f} {' '.join(envelope.rcpt_tos)}\n")
        self.log.flush()
        return "250 OK"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering DATA")
    parser.add_argument("--cert", help="PEM certificate: offer STARTTLS and require it")
    parser.add_argument("--key", help="PEM private key of --cert")
    args = parser.parse_args(argv)
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    options = {}
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        options = {"tls_context": context, "require_starttls": True}
    with open(args.log, "a", encoding="ascii") as log:
        handler = ArrivalLog(log, args.delay)
        controller = Controller(handler, hostname="127.0.0.1", port=args.port, server_hostname="localhost", **options)
        controller.start()
        print("ready", flush=True)
        try:
            for line in sys.stdin:
                command, _, value = line.strip().partition(" ")
                if command == "delay":
                    handler.delay = float(value)
                    print("delay-set", flush=True)
        finally:
            controller.stop()


if __name__ == "__main__":
    main()
