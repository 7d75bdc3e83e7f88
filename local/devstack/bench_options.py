"""How the options after ``fieldforce bench NAME`` become keyword arguments of its ``run``.

Each benchmark is a module with ``run(out_dir, scale, ...)``; its further parameters are its
options, so a benchmark declares them once, in its signature. ``bench`` itself takes ``--out``
and ``--scale``; everything after the benchmark's name is parsed by a Click command built from
``run``'s parameters and annotations.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

BENCH_COMMON = frozenset({"out_dir", "scale"})
"""``run`` parameters every benchmark has; ``bench`` itself takes them (``--out``, ``--scale``)."""


def _option_type(annotation: Any) -> tuple[Any, bool, type | None]:
    """A ``run`` annotation as Click sees it: ``(click type, is a flag, sequence type or None)``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        origin = typing.get_origin(annotation)
    if origin in (tuple, list, collections.abc.Sequence):
        [item, *_] = typing.get_args(annotation) or (str,)
        inner, _, _ = _option_type(item)
        return inner, False, list if origin is list else tuple
    if origin is typing.Literal:
        return click.Choice([str(a) for a in typing.get_args(annotation)]), False, None
    if annotation is bool:
        return click.BOOL, True, None
    if annotation is Path:
        return click.Path(path_type=Path), False, None
    if annotation in (int, float, str):
        return annotation, False, None
    raise TypeError(f"no command-line option for a parameter of type {annotation!r}")


def benchmark_command(name: str, run: Callable[..., Any]) -> click.Command:
    """A Click command whose options are ``run``'s parameters (``--out``/``--scale`` aside).

    ``hours: float`` becomes ``--hours FLOAT``, ``keep: bool`` becomes ``--keep/--no-keep``, and a
    ``tuple[str, ...]`` an option given once per value (``--modes webhook --modes polling``).
    """
    hints = typing.get_type_hints(run)
    params: list[click.Parameter] = []
    for parameter in inspect.signature(run).parameters.values():
        if parameter.name in BENCH_COMMON or parameter.kind not in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            continue
        kind, flag, sequence = _option_type(hints.get(parameter.name, str))
        option = "--" + parameter.name.replace("_", "-")
        default = None if parameter.default is inspect.Parameter.empty else parameter.default
        params.append(
            click.Option(
                [f"{option}/--no-{option[2:]}" if flag else option, parameter.name],
                type=None if flag else kind,
                is_flag=flag,
                multiple=sequence is not None,
                default=default,
                show_default=True,
                required=parameter.default is inspect.Parameter.empty,
            )
        )
    return click.Command(f"bench {name}", params=params)


def _describe(command: click.Command) -> str:
    lines = []
    for param in command.params:
        assert isinstance(param, click.Option)
        spelled = "/".join(param.opts + param.secondary_opts)
        if param.is_flag:
            kind = ""
        elif isinstance(param.type, click.Choice):
            kind = " {" + "|".join(map(str, param.type.choices)) + "}"
        else:
            kind = f" {param.type.name.upper()}"
        repeat = " (repeatable)" if param.multiple else ""
        lines.append(f"{spelled}{kind}{repeat} (default: {param.default!r})")
    return "; ".join(lines) or "none"


def benchmark_options(name: str, run: Callable[..., Any], args: Sequence[str]) -> dict[str, Any]:
    """The keyword arguments for ``run`` that the extra ``bench NAME`` options give.

    Only the options given are returned, so ``run``'s own defaults stay the defaults. Values are
    converted by ``run``'s annotations.

    Raises:
        click.UsageError: an option ``run`` has no parameter for, or a value of the wrong type;
            the message lists the benchmark's options.
    """
    command = benchmark_command(name, run)
    hints = typing.get_type_hints(run)
    try:
        context = command.make_context(command.name, list(args))
    except click.UsageError as exc:
        raise click.UsageError(
            f"bench {name}: {exc.format_message()}\n"
            f"Options of bench {name} (besides --scale and --out): {_describe(command)}"
        ) from None
    given: dict[str, Any] = {}
    for key, value in context.params.items():
        if context.get_parameter_source(key) is not ParameterSource.COMMANDLINE:
            continue
        _, _, sequence = _option_type(hints.get(key, str))
        given[key] = sequence(value) if sequence is not None else value
    return given


def split_bench_args(tokens: Sequence[str]) -> tuple[list[str], list[str]]:
    """Benchmark names come first; from the first ``-`` token on, options for the benchmark."""
    for index, token in enumerate(tokens):
        if token.startswith("-"):
            return list(tokens[:index]), list(tokens[index:])
    return list(tokens), []
