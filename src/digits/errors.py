"""One exception type for every failure a user can fix, and the one-line reporting of it."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable


class DigitsError(Exception):
    """A failure with a message fit to show the user as a single line."""


def one_line(message: str) -> str:
    """Collapse whitespace so an error never spans several lines."""
    return " ".join(str(message).split())


def cli_entry(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Wrap a stage's main(): a DigitsError becomes `name: error: ...` on stderr and exit 1."""

    def wrap(main: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(main)
        def run() -> None:
            try:
                main()
            except DigitsError as exc:
                print(f"{name}: error: {one_line(str(exc))}", file=sys.stderr)
                sys.exit(1)
            except KeyboardInterrupt:
                print(f"{name}: interrupted", file=sys.stderr)
                sys.exit(130)

        return run

    return wrap
