"""Benchmarks: ``python -m tests.bench [--quick] [--json PATH] [--only B1,...]``.

Not part of the test run. Each benchmark measures its figures against a baseline taken
in the same run wherever possible, so results compare across machines as ratios.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

_OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Figure:
    """One measured number, with its unit and (optionally) the target it must meet."""

    value: float
    unit: str
    target: float | None = None
    #: ">=" (higher is better) or "<=" (lower is better)
    direction: str = ">="
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return _OPS[self.direction](self.value, self.target)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"value": self.value, "unit": self.unit}
        if self.target is not None:
            data["target"] = f"{self.direction} {self.target:g}"
            data["met"] = self.met
        if self.note:
            data["note"] = self.note
        return data
