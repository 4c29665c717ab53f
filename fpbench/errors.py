"""Errors a user can act on: the CLI prints their message as one line, without a traceback."""
import warnings


class FpbenchError(Exception):
    """Base of user-facing errors. ``exit_code`` is what the CLI returns (2: bad input, 1: failure)."""

    exit_code = 1


class BadInput(FpbenchError):
    """Invalid names, options, manifests or files supplied by the user."""

    exit_code = 2


class FpbenchWarning(UserWarning):
    """Something fpbench repaired or worked around; shown as one line, ``warning: <message>``."""


def warn(message: str) -> None:
    """Warn in one line (no source line after it), e.g. about a cache entry that was deleted and rebuilt."""
    warnings.warn(message, FpbenchWarning, stacklevel=2)


_default_format = warnings.formatwarning


def _format_warning(message, category, filename, lineno, line=None):  # noqa: ANN001  (the warnings hook)
    if issubclass(category, FpbenchWarning):
        return f"warning: {message}\n"
    return _default_format(message, category, filename, lineno, line)


warnings.formatwarning = _format_warning
