"""The ``tension`` command line: one Typer app, thin commands calling the library.

Exceptions become exit codes here and only here (see ``tension.errors``):
0 ok; 1 unexpected error; 2 bad usage or config; 3 data-health gate failed;
4 another run holds the lock; 5 tracking unavailable; 6 ``--strict`` and rows
were quarantined; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import click
import typer
import typer.core
from rich.markup import escape

try:  # typer >= 0.25 vendors click; its parser raises these, not the standalone package's
    from typer._click import exceptions as _vendored
except ImportError:  # pragma: no cover - older typer uses click itself
    _vendored = click.exceptions

_EXIT = (click.exceptions.Exit, typer.Exit, getattr(_vendored, "Exit", click.exceptions.Exit))
_ABORT = (click.exceptions.Abort, typer.Abort, getattr(_vendored, "Abort", click.exceptions.Abort))
_CLICK = (click.ClickException, _vendored.ClickException)
_USAGE = (click.UsageError, _vendored.UsageError)

from ..errors import TensionError, Terminated
from ._common import console

def _usage_name(self: Any) -> str:
    """An argument in the usage line as NAME (or NAME... when it repeats), as in every Unix manual.

    Typer 0.29 writes required arguments as ``{name}``, which reads like a placeholder
    to fill in with braces.
    """
    return self.display_name_raw.upper() + ("..." if self.nargs != 1 else "")


if hasattr(typer.core.TyperArgument, "_usage_display_name"):
    typer.core.TyperArgument._usage_display_name = _usage_name

app = typer.Typer(
    name="tension",
    help="Escalation-risk forecasts for country relationships from political event data.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tension {version('tension')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Escalation-risk forecasts for country relationships from political event data.

    Example: [bold]tension demo[/bold] runs the whole pipeline on the embedded synthetic world.
    """


# Each module adds its commands to ``app`` when imported (the CLI is the only place
# where importing registers something).
from . import commands  # noqa: E402,F401


def _plain_warnings(show: Any) -> Any:
    """A ``warnings.showwarning`` printing tension's own warnings as one line on stderr, others via ``show``."""
    def _show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
              file: Any = None, line: str | None = None) -> None:
        if category.__module__.split(".")[0] == "tension":
            console.print(f"[yellow]Warning:[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True)
        else:
            show(message, category, filename, lineno, file, line)
    return _show


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tension`` console script; returns the exit code."""
    from ..tracking import configure

    configure()  # MLflow's process settings (telemetry off, short retries) before any command imports mlflow
    with warnings.catch_warnings(), _sigterm_unwinds():
        warnings.showwarning = _plain_warnings(warnings.showwarning)
        return _run(argv)


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While a command runs, SIGTERM raises :class:`~tension.errors.Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise Terminated(f"terminated by {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:  # None: a handler set outside Python, which cannot be put back from here
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _run(argv: list[str] | None) -> int:
    code = 0
    try:
        result = app(args=argv, standalone_mode=False, prog_name="tension")
        code = result if isinstance(result, int) else 0
    except TensionError as exc:
        console.print(f"[bold red]Error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        code = exc.exit_code
    except _EXIT as exc:
        code = exc.exit_code
    except _CLICK as exc:
        exc.show(file=sys.stderr)
        code = 2 if isinstance(exc, _USAGE) else exc.exit_code
    except _ABORT:
        console.print("Aborted.")
        code = 1
    except Terminated:
        console.print("Terminated (SIGTERM).")
        code = 143
    except KeyboardInterrupt:
        console.print("Interrupted.")
        code = 130
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors are reported
        if os.environ.get("TENSION_DEBUG"):
            traceback.print_exc()
        console.print(
            f"[bold red]Unexpected error[/bold red] ({type(exc).__name__}): {escape(str(exc))}\n"
            "This is a bug in tension. Rerun with TENSION_DEBUG=1 to see the traceback and report it.",
            highlight=False,
        )
        code = 1
    return code


def run() -> None:  # pragma: no cover - thin wrapper
    sys.exit(main())
