"""The error type for problems the user can fix: a config value, a file, a run directory.

The command line prints a ``UserError`` (and an ``OSError`` on a user's path) as one line and exits
with status 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input, a damaged file or a busy run directory; the message says what and what to do."""
