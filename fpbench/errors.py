"""Errors a user can act on: the CLI prints their message as one line, without a traceback."""


class FpbenchError(Exception):
    """Base of user-facing errors. ``exit_code`` is what the CLI returns (2: bad input, 1: failure)."""

    exit_code = 1


class BadInput(FpbenchError):
    """Invalid names, options, manifests or files supplied by the user."""

    exit_code = 2
