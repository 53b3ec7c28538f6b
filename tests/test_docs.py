"""The docs cannot drift from the CLI: docs/cli.md against each command's options, the README's
command and environment tables against the group and the source."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from chargen.cli import main

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = ROOT / "docs" / "cli.md"
README = ROOT / "README.md"
SOURCE = ROOT / "src" / "chargen"
# `--name` at the start of a backticked span, and any `/--name` after it (`--a/--no-a`)
DOC_FLAG = re.compile(r"`(--[a-z0-9][a-z0-9-]*(?:/--[a-z0-9][a-z0-9-]*)?)")
ENV_NAME = re.compile(r"\bCHARGEN_[A-Z0-9_]+\b")


def walk(group: click.Group, path: str = "chargen") -> dict[str, click.Command]:
    """Every command below `group`, and the group itself, by its full name."""
    found: dict[str, click.Command] = {path: group}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(walk(command, f"{path} {name}"))
        else:
            found[f"{path} {name}"] = command
    return found


def long_flags(command: click.Command) -> set[str]:
    """Long flag names of every option, both halves of `--x/--no-x` included."""
    flags = set()
    for param in command.params:
        if isinstance(param, click.Option):
            flags.update(f for f in [*param.opts, *param.secondary_opts] if f.startswith("--"))
    return flags


def sections(text: str, level: str = "## ") -> dict[str, str]:
    """A Markdown page cut at headings of `level`: heading text -> the text under it."""
    out: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if line.startswith(level):
            name = line[len(level) :].strip()
            out[name] = ""
        elif name is not None:
            out[name] += line + "\n"
    return out


def documented_flags(body: str) -> set[str]:
    return {flag for span in DOC_FLAG.findall(body) for flag in span.split("/")}


def table_first_cells(body: str) -> list[str]:
    """The first cell of each table row under a heading, without its backticks."""
    cells = []
    for line in body.splitlines():
        if line.startswith("|") and not re.match(r"\|\s*-", line):
            cells.append(line.split("|")[1].strip().strip("`"))
    return cells[1:]  # the header row


COMMANDS = walk(main)
CLI_SECTIONS = sections(CLI_MD.read_text(encoding="utf-8"))


def test_walk_finds_the_commands() -> None:
    assert {"chargen", "chargen train", "chargen sample", "chargen prepare"} <= set(COMMANDS)
    assert "--seq-len" in long_flags(COMMANDS["chargen train"])
    assert {"--lowercase", "--no-lowercase"} <= long_flags(COMMANDS["chargen clean"])
    assert {"--top-k", "--top-n"} <= long_flags(COMMANDS["chargen sample"])


def test_every_command_has_a_heading_in_cli_md() -> None:
    assert sorted(set(COMMANDS) - set(CLI_SECTIONS)) == []


def test_cli_md_has_no_heading_for_a_missing_command() -> None:
    assert sorted(set(CLI_SECTIONS) - set(COMMANDS)) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_md_documents_every_flag(name: str) -> None:
    body = CLI_SECTIONS.get(name, "")
    missing = {f for f in long_flags(COMMANDS[name]) if f not in documented_flags(body)}
    assert sorted(missing) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_cli_md_documents_no_flag_the_command_lacks(name: str) -> None:
    known = long_flags(COMMANDS[name]) | {"--help"}
    extra = documented_flags(CLI_SECTIONS.get(name, "")) - known
    assert sorted(extra) == []


def test_documented_flags_parses_both_halves_and_ignores_prose() -> None:
    body = "| `--a-b/--no-a-b` | x |\n| `--c N\\|auto` | `chargen x --d` |\nplain --e\n"
    assert documented_flags(body) == {"--a-b", "--no-a-b", "--c"}


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 320


def test_readme_command_table_lists_every_command() -> None:
    body = sections(README.read_text(encoding="utf-8"))["Commands"]
    listed = {cell.removeprefix("chargen ") for cell in table_first_cells(body)}
    assert sorted(set(main.commands) - listed) == []
    assert sorted(listed - set(main.commands)) == []


def test_readme_environment_table_lists_every_chargen_variable() -> None:
    used = set()
    for path in SOURCE.rglob("*.py"):
        used.update(ENV_NAME.findall(path.read_text(encoding="utf-8")))
    assert {"CHARGEN_RUNS_DIR", "CHARGEN_RUN", "CHARGEN_PROGRESS_INTERVAL"} <= used
    body = sections(README.read_text(encoding="utf-8"))["Environment variables"]
    listed = set(table_first_cells(body))
    assert sorted(used - listed) == []
