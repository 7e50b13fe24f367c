"""``python -m gateway.sandbox [--host H] [--port P]``: the LinkedIn sandbox on its own."""

from __future__ import annotations

import argparse

from gateway.sandbox.app import run_sandbox


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.sandbox", description="Run the built-in LinkedIn sandbox."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090, help="0 picks a free port")
    args = parser.parse_args(argv)
    run_sandbox(args.host, args.port)


if __name__ == "__main__":
    main()
