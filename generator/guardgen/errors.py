"""Typed errors. The CLI maps each class to one exit code in one place (``cli._exit_code``)."""

from __future__ import annotations


class GuardgenError(Exception):
    """Base class: a problem the user can act on. Exit code 2 unless a subclass says otherwise."""


class ConfigError(GuardgenError):
    """The organization description is invalid. Carries every problem found, each located."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[list[str]]]:
        # Rebuilt from the problems, not the joined message, when it crosses a process.
        return (type(self), (self.problems,))


class BudgetError(GuardgenError):
    """The guardrails of a target do not fit in its SCP budget."""


class OutputError(GuardgenError):
    """The output tree cannot be written safely (hand-edited files, foreign files in the way)."""
