"""Command line entry point of ``alpharun-sandbox``.

``python -m alpharun_provider.sandbox`` runs the same command.

The first line on stdout is the API base URL. A generated API key follows on
the second line. Logs go to stderr. SIGINT and SIGTERM stop the server and
close the database, and the exit status is then 0. Further SIGINT and SIGTERM
signals are ignored, so they cannot change that status. An invalid option,
including a ``--db`` file that SQLite cannot open, exits with status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
import threading
from types import FrameType

from .server import Sandbox, api_key_problem

logger = logging.getLogger("alpharun_provider.sandbox")

PROG = "alpharun-sandbox"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_PORT = 65535
USAGE_ERROR_STATUS = 2


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line options."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run a local Alpharun-compatible API server.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=_port, default=8080, help="TCP port, or 0 for a free port"
    )
    parser.add_argument(
        "--api-key",
        type=_api_key,
        help="API key that clients send as 'Authorization: Bearer KEY'."
        " Without it a random key is generated and printed",
    )
    parser.add_argument(
        "--db", metavar="FILE", help="SQLite file for the state (default: in memory)"
    )
    parser.add_argument(
        "--latency-ms",
        type=_non_negative_int,
        default=0,
        help="milliseconds added before each API request",
    )
    parser.add_argument(
        "--rate-limit",
        type=_positive_float,
        metavar="RPS",
        help="API requests per second allowed, above which requests get 429",
    )
    parser.add_argument(
        "--burst",
        type=_positive_int,
        default=1,
        help="number of API requests allowed in a burst above the rate limit",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default="INFO",
        help="log level of the messages written to stderr",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until SIGINT or SIGTERM and return the exit status."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sandbox = Sandbox(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        db_path=args.db,
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        burst=args.burst,
    )
    stop_requested = _install_stop_handlers()
    try:
        sandbox.start()
    except sqlite3.Error as error:
        message = _database_problem(args.db, error)
        print(f"{PROG}: error: argument --db: {message}", file=sys.stderr)
        return USAGE_ERROR_STATUS
    except OSError as error:
        logger.error("cannot listen on %s:%s: %s", args.host, args.port, error)
        return 1
    print(sandbox.base_url, flush=True)
    if sandbox.api_key_generated:
        print(f"API key: {sandbox.api_key}", flush=True)
    while not stop_requested.wait(0.5):
        pass
    sandbox.stop()
    return 0


def _install_stop_handlers() -> threading.Event:
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Python restores the default handlers while the interpreter exits,
        # so a later SIGTERM or SIGINT would kill the process (status 143 or
        # 130 in a shell). Ignored signals stay ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        logger.info(
            "received %s, stopping and ignoring further SIGINT and SIGTERM",
            signal.Signals(signum).name,
        )
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop_requested


def _database_problem(path: str | None, error: sqlite3.Error) -> str:
    if path is None:
        return f"cannot create the in-memory database: {error}"
    if os.path.isdir(path):
        return f"{path} is a directory, expected a SQLite database file"
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return f"cannot create {path}, the directory {directory} does not exist"
    return f"cannot open {path} as a SQLite database: {error}"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(
            f"{text} is not a TCP port, expected an integer from 0 to {MAX_PORT}"
        )
    return value


def _api_key(text: str) -> str:
    problem = api_key_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(
            f"{problem}, pass a key or omit --api-key to generate one"
        )
    return text


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative, expected 0 or more")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is less than 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


if __name__ == "__main__":
    sys.exit(main())
