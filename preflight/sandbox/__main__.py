"""`python -m preflight.sandbox`: run the emulated account in the foreground (same as `sandbox serve`)."""

from __future__ import annotations

import argparse
import signal
import sys

from preflight.sandbox.faults import FaultConfig
from preflight.sandbox.scenario import SCENARIO_NAMES
from preflight.sandbox.server import serve
from preflight.support.exits import report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m preflight.sandbox",
        description="Run an emulated AWS account (moto + quota behaviour) on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument(
        "--scenario", default="fresh-account", help=f"{', '.join(SCENARIO_NAMES)} or a scenario YAML file"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    parser.add_argument("--region", default="us-east-1", help="default region of the scenario's resources")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to every AWS request")
    parser.add_argument("--throttle-rate", type=float, default=0.0, help="share of requests throttled (0-1)")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="share of requests answered HTTP 500 (0-1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault sequence")
    args = parser.parse_args(argv)
    try:
        faults = FaultConfig(args.latency_ms, args.throttle_rate, args.error_rate, args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    # Started in the background by a script, SIGINT may arrive ignored: Ctrl-C / kill -INT must stop it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        serve(
            args.scenario,
            port=args.port,
            faults=faults,
            echo=lambda line: print(line, flush=True),
            region=args.region,
        )
    except Exception as exc:  # one line and the documented exit code, as the CLI gives (port in use: 3)
        return report(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
