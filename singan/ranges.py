"""The one parser of number lists such as '0-9,12': seeds, start scales and style layers."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from singan.errors import ConfigError
from singan.seeds import SEED_LIMIT

_PART = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class RangeRule:
    """What a list of one option may hold, and what its messages say.

    Numbers are non-negative and below `limit` (`beyond` says so otherwise); a range runs low-high and
    spans at most `longest` numbers after its first (`backwards` says so otherwise, {part} naming it).
    """

    flag: str
    expected: str  # what a part should look like
    limit: int | None = None
    beyond: str = ""
    longest: int | None = None
    backwards: str = "the range {part} is reversed or too long"
    most: int | None = None  # numbers in the whole list


def parse_ranges(text: str, rule: RangeRule) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7], without duplicates and in order of appearance."""
    numbers: list[int] = []
    seen: set[int] = set()  # a set, so that a list of 100000 seeds takes milliseconds, not minutes
    for part in str(text).split(","):
        first, last = _bounds(part, text, rule)
        for number in range(first, last + 1):
            if number not in seen:
                seen.add(number)
                numbers.append(number)
        # Checked after each part (a part spans at most `longest`), so a list of ranges cannot fill the memory.
        if rule.most is not None and len(numbers) > rule.most:
            raise ConfigError(f"{rule.flag}: at most {rule.most} numbers in all")
    return numbers


def _bounds(part: str, text: str, rule: RangeRule) -> tuple[int, int]:
    match = _PART.match(part)
    if match is None:
        raise ConfigError(f"{rule.flag} {text!r}: {rule.expected}")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if rule.limit is not None and last >= rule.limit:
        raise ConfigError(f"{rule.flag} {text!r}: {rule.beyond}")
    if last < first or (rule.longest is not None and last - first > rule.longest):
        raise ConfigError(f"{rule.flag} {text!r}: {rule.backwards.format(part=part.strip())}")
    return first, last


# Seeds in one list: far more images than a task is asked for (FID uses 50000), few enough to hold as numbers.
MOST_SEEDS = 1_000_000
SEEDS = RangeRule("--seeds", "expected non-negative seeds and ranges such as 0-9,12", limit=SEED_LIMIT,
                  beyond="seeds must be below 2**63", longest=100_000, most=MOST_SEEDS)
SCALES = RangeRule("--start-scale", "expected a scale or a range such as 1-3", longest=1000)


def parse_seeds(text: str, flag: str = "--seeds") -> list[int]:
    """'0-9,12' -> [0, 1, ..., 9, 12]; duplicates are dropped, order kept."""
    return parse_ranges(text, dataclasses.replace(SEEDS, flag=flag))


def parse_scales(values: list[str] | None, default: int) -> list[int]:
    """--start-scale given once or more, each a scale or a range: ["1", "3-4"] -> [1, 3, 4]."""
    if not values:
        return [default]
    scales: list[int] = []
    for value in values:
        scales.extend(scale for scale in parse_ranges(value, SCALES) if scale not in scales)
    return scales
