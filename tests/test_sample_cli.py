"""Sampling flags: seeds from files and stdin, temperature lists, --output, --stop-at, --top-n,
--interactive, on the shared trained run."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chargen.cli import main
from chargen.errors import ConfigError, CorpusError, UsageProblem
from chargen.generation.session import cut_at, parse_temperatures, read_seed, stream_until


def _sample(runner: CliRunner, run, *args: str, **kwargs):
    return runner.invoke(main, ["sample", "--run", str(run.path), *args], **kwargs)


def test_parse_temperatures() -> None:
    assert parse_temperatures("0.8") == [0.8]
    assert parse_temperatures("0.2, 0.5,1") == [0.2, 0.5, 1.0]
    with pytest.raises(ConfigError, match=r"^--temperature must be a number or a comma"):
        parse_temperatures("0.2,hot")
    with pytest.raises(ConfigError, match=r"^temperature must be a finite number >= 0, got -0.5$"):
        parse_temperatures("1,-0.5")


def test_read_seed_sources(tmp_path: Path) -> None:
    prime = tmp_path / "prime.txt"
    prime.write_text("Alice was\n", encoding="utf-8")
    assert read_seed(None, prime, io.StringIO()) == "Alice was"
    assert read_seed("-", None, io.StringIO("The Queen\n")) == "The Queen"
    assert read_seed("  kept as typed ", None, io.StringIO()) == "  kept as typed "
    with pytest.raises(UsageProblem, match="^give exactly one of --seed and --seed-file$"):
        read_seed("a", prime, io.StringIO())
    with pytest.raises(UsageProblem, match="^give exactly one of --seed and --seed-file$"):
        read_seed(None, None, io.StringIO())
    with pytest.raises(UsageProblem, match="^the seed from stdin is empty$"):
        read_seed("-", None, io.StringIO("\n"))
    with pytest.raises(UsageProblem, match=r"^seed file not found: .*nope.txt$"):
        read_seed(None, tmp_path / "nope.txt", io.StringIO())
    # files from Windows editors: marks dropped, the encoding detected as for a corpus
    for data, expected in (
        ("\ufeffAlice was\r\n".encode(), "Alice was"),
        ("Alice was\n".encode("utf-16"), "Alice was"),
        ("Alice \u00e9tait\n".encode("cp1252"), "Alice \u00e9tait"),
    ):
        prime.write_bytes(data)
        assert read_seed(None, prime, io.StringIO()) == expected
    prime.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(CorpusError, match=r"^.*prime.txt looks binary \(NUL byte at 8\)"):
        read_seed(None, prime, io.StringIO())
    # `sample` has no --encoding: the hints say what to do instead
    prime.write_bytes("Alice was\n".encode("utf-16-le"))
    with pytest.raises(CorpusError, match=r"mark\? save it as UTF-8\)$"):
        read_seed(None, prime, io.StringIO())
    prime.write_bytes(b"caf\x81\xe9\n")
    with pytest.raises(CorpusError, match=r"neither UTF-8 nor Windows-1252; save it as UTF-8$"):
        read_seed(None, prime, io.StringIO())


def test_cut_at() -> None:
    assert cut_at("abc\n\ndef", "\n\n") == ("abc", True)
    assert cut_at("abc", "x") == ("abc", False)
    assert cut_at("abc", None) == ("abc", False)


class _FakeSampler:
    """Streams fixed chunks, so the stop-string hold-back can be checked across boundaries."""

    def __init__(self, chunks: list[str]) -> None:
        self.chunks = chunks

    def stream(self, seed_text, length, strategy, *, num_samples=1, rng_seed=0):
        for chunk in self.chunks:
            yield [chunk] * num_samples


def test_stream_until_finds_a_stop_split_across_chunks() -> None:
    pieces = list(stream_until(_FakeSampler(["abc\n", "\ndef"]), "s", 8, None, stop_at="\n\n"))
    assert "".join(pieces) == "abc"
    whole = list(stream_until(_FakeSampler(["ab", "cd"]), "s", 4, None, stop_at="xyz"))
    assert "".join(whole) == "abcd"


def test_seed_file_and_stdin_match_seed(runner: CliRunner, trained_run, tmp_path: Path) -> None:
    base = ["--length", "40", "--argmax"]
    direct = _sample(runner, trained_run, "--seed", "Alice was", *base)
    assert direct.exit_code == 0, direct.stderr
    prime = tmp_path / "prime.txt"
    prime.write_text("Alice was\n", encoding="utf-8")
    from_file = _sample(runner, trained_run, "--seed-file", str(prime), *base)
    from_stdin = _sample(runner, trained_run, "--seed", "-", *base, input="Alice was\n")
    assert from_file.stdout == direct.stdout == from_stdin.stdout
    assert len(direct.stdout) == 41


def test_temperature_list_writes_one_block_each(runner: CliRunner, trained_run) -> None:
    args = ["--seed", "Alice", "--length", "30", "--rng-seed", "5"]
    result = _sample(runner, trained_run, *args, "--temperature", "0,0.5,1.0")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.split("\n")
    headers = [line for line in lines if line.startswith("--- temperature")]
    assert headers == ["--- temperature 0", "--- temperature 0.5", "--- temperature 1"]
    single = _sample(runner, trained_run, *args, "--temperature", "0.5")
    block = result.stdout.split("--- temperature 0.5\n")[1].split("--- temperature 1\n")[0]
    assert block == single.stdout
    records = _sample(runner, trained_run, *args, "--temperature", "0.2,1", "--json")
    temps = [json.loads(line)["temperature"] for line in records.stdout.splitlines()]
    assert temps == [0.2, 1.0]


def test_output_file_and_top_n_alias(runner: CliRunner, trained_run, tmp_path: Path) -> None:
    out = tmp_path / "out" / "sample.txt"
    args = ["--seed", "The", "--length", "50", "--rng-seed", "2"]
    written = _sample(runner, trained_run, *args, "--top-n", "3", "--output", str(out))
    assert written.exit_code == 0, written.stderr
    assert written.stdout == ""
    assert written.stderr == f"wrote {out}\n"
    printed = _sample(runner, trained_run, *args, "--top-k", "3")
    assert out.read_text(encoding="utf-8") == printed.stdout
    assert [p.name for p in out.parent.iterdir()] == ["sample.txt"]


def test_stop_at_cuts_before_the_string(runner: CliRunner, trained_run) -> None:
    args = ["--seed", "Alice", "--length", "300", "--rng-seed", "1", "--temperature", "1.0"]
    full = _sample(runner, trained_run, *args).stdout
    stopped = _sample(runner, trained_run, *args, "--stop-at", " ").stdout
    assert " " in full.rstrip("\n")
    assert stopped == full[: full.index(" ")] + "\n"
    several = _sample(runner, trained_run, *args, "--stop-at", " ", "--num-samples", "2")
    assert several.stdout.split("\n---\n")[0] == full[: full.index(" ")] + "\n"


def test_interactive_loops_until_empty_line(runner: CliRunner, trained_run) -> None:
    args = ["--length", "20", "--argmax"]
    result = _sample(
        runner, trained_run, "--interactive", *args, input="Alice\nQueen\u20ac\nThe\n\n"
    )
    assert result.exit_code == 0, result.stderr
    expected = [_sample(runner, trained_run, "--seed", s, *args).stdout for s in ("Alice", "The")]
    assert result.stdout == "".join(expected)
    assert "Error: seed has characters not in the vocabulary: '\u20ac'" in result.stderr
    assert result.stderr.count("seed: ") == 4
    clash = _sample(runner, trained_run, "--interactive", "--seed", "a")
    assert (clash.exit_code, clash.stderr) == (
        2,
        "Error: --interactive reads seeds from the prompt; drop --seed/--output\n",
    )


def test_seed_is_required_without_interactive(runner: CliRunner, trained_run) -> None:
    result = _sample(runner, trained_run, "--length", "5")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: give exactly one of --seed and --seed-file\n",
    )


def test_a_seed_that_cleaning_empties_says_so() -> None:
    import pytest

    from chargen.errors import VocabError
    from chargen.generation.load import prepare_seed
    from chargen.text.clean import CleanOptions

    assert prepare_seed("Caf\u00e9 ", CleanOptions(ascii=True, lowercase=True)) == "cafe "
    with pytest.raises(VocabError) as err:
        prepare_seed("\u65e5\u672c", CleanOptions(ascii=True))
    assert str(err.value) == (
        "the seed '\u65e5\u672c' is empty after the run's cleaning (ascii); give characters the "
        "corpus kept"
    )


@pytest.mark.parametrize("extra", [["--temperature", "0.5"], ["--top-k", "3"], ["--top-p", "0.9"]])
def test_argmax_refuses_sampling_options(runner: CliRunner, trained_run, extra) -> None:
    result = _sample(runner, trained_run, "--seed", "Alice", "--argmax", *extra)
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --argmax always takes the most likely character; drop --temperature, --top-k "
        "and --top-p (or --argmax)\n"
    )
