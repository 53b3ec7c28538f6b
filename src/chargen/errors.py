"""Errors a user can cause: the CLI turns them into one `Error: ...` line and an exit code."""


class ChargenError(Exception):
    """Base of every expected failure; anything else is a bug and keeps its traceback."""

    exit_code = 1


class UsageProblem(ChargenError):
    """Bad usage or input: exit code 2, like Click's own usage errors."""

    exit_code = 2


class ConfigError(UsageProblem):
    """A config file, key or value is wrong."""


class CorpusError(UsageProblem):
    """A corpus cannot be read, decoded or is unusable after cleaning."""


class VocabError(UsageProblem):
    """Text does not fit a vocabulary, or a vocabulary file is damaged."""


class RunError(UsageProblem):
    """A run directory or prepared file is missing, damaged or incompatible."""


class TrainingError(ChargenError):
    """A failure while training that is not the user's input (exit code 1)."""
