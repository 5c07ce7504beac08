"""Proof obligations as data: a statement, a method, a reference and a check.

An :class:`Obligation` states one law or theorem the code relies on (``statement``), says how
it is discharged (``method``: ``"symbolic"`` with sympy, ``"exhaustive"`` over all small
cases, ``"property"`` by hypothesis search, ``"numeric"`` against known answers), points to
the section of ``docs/theory.md`` that states it (``theory_ref``, an anchor id) and carries
``check: () -> Outcome``. Obligations are registered with the :func:`obligation` decorator
(into :data:`REGISTRY`) or on any :class:`Registry`. See ``docs/theory.md``, "Proof obligations".

>>> reg = Registry()
>>> @reg.obligation("demo.two", "1 + 1 == 2", "exhaustive", "conventions")
... def _two() -> Outcome:
...     return Outcome.ok("checked") if 1 + 1 == 2 else Outcome.fail(1 + 1)
>>> [o.name for o in reg], reg["demo.two"].check().passed
(['demo.two'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

#: The four ways an obligation can be discharged.
METHODS: tuple[str, ...] = ("symbolic", "exhaustive", "property", "numeric")


@dataclass(frozen=True)
class Outcome:
    """Result of a check: ``passed``, what was checked (``details``) and, on failure, the
    ``counterexample`` (any value; the runner shows its ``repr``)."""

    passed: bool
    details: str = ""
    counterexample: Any = None

    @classmethod
    def ok(cls, details: str = "") -> Outcome:
        return cls(True, details)

    @classmethod
    def fail(cls, counterexample: Any, details: str = "") -> Outcome:
        return cls(False, details, counterexample)


@dataclass(frozen=True)
class Obligation:
    """A statement the code relies on, with the check that discharges it."""

    name: str
    statement: str
    method: str
    theory_ref: str
    check: Callable[[], Outcome]

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"obligation {self.name!r}: method must be one of {METHODS}, got {self.method!r}"
            )
        if not self.name or any(c.isspace() for c in self.name):
            raise ValueError(f"obligation name must be non-empty without spaces, got {self.name!r}")
        if not self.theory_ref or self.theory_ref.startswith("#"):
            raise ValueError(
                f"obligation {self.name!r}: theory_ref is an anchor id of docs/theory.md "
                f"without '#', got {self.theory_ref!r}"
            )


class Registry:
    """Obligations by name, in registration order; names are unique."""

    def __init__(self) -> None:
        self._items: dict[str, Obligation] = {}

    def add(self, ob: Obligation) -> Obligation:
        if ob.name in self._items:
            raise ValueError(f"obligation {ob.name!r} is registered twice")
        self._items[ob.name] = ob
        return ob

    def obligation(
        self, name: str, statement: str, method: str, theory_ref: str
    ) -> Callable[[Callable[[], Outcome]], Callable[[], Outcome]]:
        """Decorator registering ``check`` as the obligation ``name``; returns ``check``."""

        def register(check: Callable[[], Outcome]) -> Callable[[], Outcome]:
            self.add(Obligation(name, statement, method, theory_ref, check))
            return check

        return register

    def select(self, only: str | None = None, method: str | None = None) -> list[Obligation]:
        """Obligations whose name contains ``only`` and whose method is ``method``."""
        return [
            o
            for o in self._items.values()
            if (only is None or only in o.name) and (method is None or o.method == method)
        ]

    def __getitem__(self, name: str) -> Obligation:
        return self._items[name]

    def __iter__(self) -> Iterator[Obligation]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)


#: The library's obligations (filled by importing :mod:`proofs_check.obligations`).
REGISTRY = Registry()
obligation = REGISTRY.obligation
