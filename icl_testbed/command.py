"""The ``icl`` command's entry: it checks that the packages are ours before it imports any of them."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from icl_testbed import foreign_packages_message


def main(argv: Sequence[str] | None = None) -> int:
    """The ``icl`` command: one line and exit status 2 on such a clash, else ``icl.cli.main``."""
    message = foreign_packages_message()
    if message is not None:
        print(f"error: {message}", file=sys.stderr)
        return 2
    from icl.cli import main as cli_main

    return cli_main(argv)
