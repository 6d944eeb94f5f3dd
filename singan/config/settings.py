"""What every configuration dataclass shares: fields with help texts, changed copies, validation, JSON."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field, fields

from singan.errors import ConfigError

# Network widths are bounded before any network is built: 8 times the papers' 512, far past any real run,
# while 100000 channels would ask for hundreds of gigabytes.
LARGEST_CHANNELS = 4096


def setting(default: object, help: str):
    """A configuration field with its help text (the CLI makes one option of each)."""
    return field(default=default, metadata={"help": help})


def flag(name: str) -> str:
    """The command-line flag of a config field, for messages."""
    return "--" + name.replace("_", "-")


def finite(value: object) -> bool:
    """A real number that is neither NaN nor infinite (booleans are not numbers here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def integer(value: object) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


class Settings:
    """What every frozen configuration dataclass offers: changed copies, validation and a JSON round trip.
    A subclass lists its problems (messages naming the flag) in `problems`."""

    def problems(self) -> list[str]:
        return []

    def replace(self, **changes: object):
        """A copy with `changes` applied; None values mean "keep" so CLI defaults can pass through."""
        given = {name: value for name, value in changes.items() if value is not None}
        unknown = set(given) - {item.name for item in fields(self)}
        if unknown:
            raise ConfigError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **given)

    def validate(self):
        for problem in self.problems():
            raise ConfigError(problem)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict):
        known = {item.name for item in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown configuration key(s): {', '.join(sorted(unknown))}")
        return cls(**values)


class Requirements:
    """Collects "--flag must be RULE (got VALUE)" messages about the fields of one configuration."""

    def __init__(self, config):
        self.config, self.problems = config, []

    def require(self, condition: bool, name: str, rule: str) -> None:
        if not condition:
            self.problems.append(f"{flag(name)} must be {rule} (got {getattr(self.config, name)!r})")
