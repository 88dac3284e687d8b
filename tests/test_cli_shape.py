"""Commands stay thin: every function registered with Typer is option handling and output, a few lines long."""
from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator

import pytest
import typer

from tension.cli import app

MAX_BODY_LINES = 40


def _commands(group: typer.Typer) -> Iterator[Callable[..., object]]:
    if group.registered_callback is not None and group.registered_callback.callback is not None:
        yield group.registered_callback.callback
    for command in group.registered_commands:
        if command.callback is not None:
            yield command.callback
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            yield from _commands(sub.typer_instance)


def body_lines(func: Callable[..., object]) -> int:
    """Lines of a function's body from its first statement after the docstring to its end."""
    node = ast.parse(textwrap.dedent(inspect.getsource(func))).body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body[-1].end_lineno - body[0].lineno + 1


COMMANDS = sorted(set(_commands(app)), key=lambda f: (f.__module__, f.__name__))


def test_every_command_module_registers_commands():
    modules = {f.__module__.rsplit(".", 1)[-1] for f in COMMANDS}
    assert {"ingest", "panel", "model", "registry", "demo", "simulate", "score", "report", "ledger"} <= modules


@pytest.mark.parametrize("func", COMMANDS, ids=lambda f: f"{f.__module__.rsplit('.', 1)[-1]}.{f.__name__}")
def test_command_function_is_short(func):
    n = body_lines(func)
    assert n <= MAX_BODY_LINES, (
        f"{func.__module__}.{func.__name__} has {n} body lines (at most {MAX_BODY_LINES}): move library work into the "
        "library (the stage module, or tension.training for the model stage) and presentation into helpers.")


def test_body_lines_counts_the_body_without_the_docstring():
    def sample():
        """Doc."""
        a = 1
        return a

    assert body_lines(sample) == 2
