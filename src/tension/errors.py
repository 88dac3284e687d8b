"""The few exceptions tension raises on purpose, each tied to one CLI exit code.

Every message follows one shape: what is wrong, what was expected, what was
received, and how to fix it. Build messages with :func:`problem`.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "TensionError",
    "UsageError",
    "DataHealthError",
    "LockHeldError",
    "TrackingUnavailableError",
    "QuarantinedRowsError",
    "Terminated",
    "problem",
    "did_you_mean",
]


class Terminated(BaseException):
    """The CLI process was sent SIGTERM (a scheduler's stop or time limit), exit 143.

    Raised in the main thread by the CLI's signal handler, so that open MLflow runs end
    (``KILLED`` for a job run), locks are released and ``finally`` blocks run. Like
    ``KeyboardInterrupt`` it is not an ``Exception``: no ``except Exception`` swallows it.
    """


class TensionError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class UsageError(TensionError, ValueError):
    """Bad arguments, configuration or input files (exit 2)."""

    exit_code = 2


class DataHealthError(TensionError, RuntimeError):
    """The data-health gate refused to promote or publish (exit 3)."""

    exit_code = 3


class LockHeldError(TensionError, RuntimeError):
    """Another run holds the job lock (exit 4)."""

    exit_code = 4


class TrackingUnavailableError(TensionError, ConnectionError):
    """The MLflow tracking server or database cannot be reached (exit 5)."""

    exit_code = 5


class QuarantinedRowsError(TensionError, ValueError):
    """``--strict`` was given and rows were quarantined (exit 6)."""

    exit_code = 6


def problem(what: str, expected: str | None = None, got: object = None, fix: str | None = None) -> str:
    """Format an error message: what is wrong, expected, got, how to fix.

    >>> problem("The 'horizon' of backtest is invalid.", "a positive integer", 0, "Use --horizon 1 or more.")
    "The 'horizon' of backtest is invalid. Expected a positive integer. Got 0. Use --horizon 1 or more."
    """
    parts = [what.rstrip()]
    if expected is not None:
        parts.append(f"Expected {expected}.")
    if got is not None:
        parts.append(f"Got {got!r}." if not isinstance(got, str) else f"Got {got!r}.")
    if fix:
        parts.append(fix.rstrip())
    return " ".join(parts)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
