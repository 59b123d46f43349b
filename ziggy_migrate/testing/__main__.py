"""``python -m ziggy_migrate.testing``: serve an emulator until Ctrl-C or SIGTERM.

For demos and for trying the CLI by hand. It prints one line on stdout saying where it
listens (never the password), so a script can start it with ``--port 0`` and read the port.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from ._server import ZiggyEmulator


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ziggy_migrate.testing",
        description="Serve a local Ziggy server emulator until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="port to bind; 0 picks a free one")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument(
        "--seed", metavar="FILE", help="JSON file of flows, connections, ... to load"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every request, in ms"
    )
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Make SIGTERM end the server the same clean way Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    emulator = ZiggyEmulator(
        args.username, args.password, port=args.port, host=args.host, latency=args.latency_ms / 1000
    )
    if args.seed:
        try:
            emulator.load_file(args.seed)
        except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
            print(f"cannot load seed file {args.seed}: {exc}", file=sys.stderr)
            return 2
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        emulator.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"Ziggy emulator listening on {emulator.base_url} (user {args.username})", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
