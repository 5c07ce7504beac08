"""Pluggable equality for law checks (``docs/catcore.md``, "Equality").

An equality is a callable ``eq(a, b) -> bool`` with ``explain(a, b) -> str`` describing a
mismatch. :class:`Exact` is Python equality (FinSet, Vect over Q); :class:`Tolerance` compares
floating-point data symmetrically, shape and dtype first; :class:`UpToFunctor` compares images.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class Equality(Protocol):
    def __call__(self, a: Any, b: Any) -> bool: ...

    def explain(self, a: Any, b: Any) -> str: ...


@dataclass(frozen=True)
class Exact:
    """``a == b`` (structural equality of the objects' own ``__eq__``)."""

    def __call__(self, a: Any, b: Any) -> bool:
        return bool(a == b)

    def explain(self, a: Any, b: Any) -> str:
        return difference(a, b)


def _short(x: Any, width: int = 60) -> str:
    text = repr(x)
    return text if len(text) <= width else text[: width - 3] + "..."


def _entry_mismatch(a: Any, b: Any) -> str | None:
    """First differing entry of two matrices or arrays (numpy, sympy), else ``None``."""
    try:
        x = np.array(a.tolist(), dtype=object)
        y = np.array(b.tolist(), dtype=object)
    except (AttributeError, TypeError, ValueError):
        return None
    if x.shape != y.shape:
        return f"shapes differ: {x.shape} vs {y.shape}"
    for idx in np.ndindex(*x.shape):
        if not bool(x[idx] == y[idx]):
            return f"entry {idx}: {x[idx]!r} vs {y[idx]!r}"
    return None


def difference(a: Any, b: Any, depth: int = 0) -> str:
    """Where ``a`` and ``b`` differ, as briefly as the data allows.

    Tuples and lists item by item, mappings key by key, arrows by ``dom``/``cod`` first and
    then by their data attributes, matrices entry by entry; two reprs only as a last resort.
    """
    if depth > 4:
        return f"{_short(a)} != {_short(b)}"
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        why = tuple_mismatch(tuple(a), tuple(b), lambda x, y: _differs(x, y, depth))
        return why or "equal"
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return mapping_mismatch(a, b, lambda x, y: _differs(x, y, depth)) or "equal"
    if type(a) is not type(b):
        return f"{type(a).__name__} {_short(a)} vs {type(b).__name__} {_short(b)}"
    for end in ("dom", "cod"):
        if hasattr(a, end) and hasattr(b, end):
            if (why := _differs(getattr(a, end), getattr(b, end), depth)) is not None:
                return f"{end} differs: {why}"
    if (why := _entry_mismatch(a, b)) is not None:
        return why
    fields = getattr(a, "__dict__", None)
    if isinstance(fields, dict) and fields:
        for key, x in fields.items():
            if key.lstrip("_") in ("dom", "cod", "category"):
                continue
            y = getattr(b, key, None)
            if (why := _differs(x, y, depth)) is not None:
                return f"{key.lstrip('_')}: {why}"
    return f"{_short(a)} != {_short(b)}"


def _differs(a: Any, b: Any, depth: int) -> str | None:
    try:
        same = a is b or bool(a == b)
    except (TypeError, ValueError):  # arrays compare elementwise
        same = False
    return None if same else difference(a, b, depth + 1)


def as_array(x: Any) -> np.ndarray:
    """Numeric data of ``x``: its ``array()`` method if it has one, else ``np.asarray(x)``."""
    if hasattr(x, "array") and callable(x.array):
        return np.asarray(x.array())
    return np.asarray(x)


def tuple_mismatch(a: tuple, b: tuple, item: Callable[[Any, Any], str | None]) -> str | None:
    """Compare tuples item by item with ``item`` (a mismatch message or ``None``)."""
    if len(a) != len(b):
        return f"lengths differ: {len(a)} vs {len(b)}"
    for i, (x, y) in enumerate(zip(a, b)):
        if (why := item(x, y)) is not None:
            return f"item {i}: {why}"
    return None


def mapping_mismatch(a: Mapping, b: Mapping, item: Callable[[Any, Any], str | None]) -> str | None:
    """Compare mappings key by key with ``item``; keys must agree (order aside)."""
    if set(a) != set(b):
        only_a = [k for k in a if k not in b]
        only_b = [k for k in b if k not in a]
        return f"keys differ: only in the first {only_a!r}, only in the second {only_b!r}"
    for key in a:
        if (why := item(a[key], b[key])) is not None:
            return f"at {key}: {why}"
    return None


@dataclass(frozen=True)
class Tolerance:
    """Numeric closeness, symmetric in its arguments.

    ``|a - b| <= atol + rtol * max(|a|, |b|)`` elementwise, after checking that shapes agree
    and that both are numeric. ``key`` maps a value to the array compared (default
    :func:`as_array`; a morphism exposes its data through ``array()``). Morphisms with
    ``dom``/``cod`` must also agree on those, exactly.
    """

    rtol: float = 1e-7
    atol: float = 1e-9
    key: Callable[[Any], np.ndarray] = field(default=as_array)

    def _mismatch(self, a: Any, b: Any) -> str | None:
        if isinstance(a, tuple) and isinstance(b, tuple):
            return tuple_mismatch(a, b, self._mismatch)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            return mapping_mismatch(a, b, self._mismatch)
        for end in ("dom", "cod"):
            if hasattr(a, end) and hasattr(b, end):
                x, y = getattr(a, end), getattr(b, end)
                if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
                    why = self._mismatch(np.asarray(x), np.asarray(y))
                else:
                    why = None if x == y else f"{x!r} vs {y!r}"
                if why is not None:
                    return f"{end} differs: {why}"
        x, y = self.key(a), self.key(b)
        if x.shape != y.shape:
            return f"shapes differ: {x.shape} vs {y.shape}"
        if x.dtype.kind not in "biufc" or y.dtype.kind not in "biufc":
            return f"non-numeric data: dtypes {x.dtype} and {y.dtype}"
        wide = np.complex128 if "c" in x.dtype.kind + y.dtype.kind else np.float64
        x, y = x.astype(wide), y.astype(wide)
        bound = self.atol + self.rtol * np.maximum(np.abs(x), np.abs(y))
        gap = np.abs(x - y)
        bad = ~(gap <= bound)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            finite = gap[np.isfinite(gap)]
            worst = float(finite.max()) if finite.size else float("nan")
            return (
                f"{int(bad.sum())} of {bad.size} entries differ beyond rtol={self.rtol}, "
                f"atol={self.atol}; max finite |a-b| = {worst:.3g}, first at {idx}: "
                f"{x[idx]!r} vs {y[idx]!r}"
            )
        return None

    def __call__(self, a: Any, b: Any) -> bool:
        return self._mismatch(a, b) is None

    def explain(self, a: Any, b: Any) -> str:
        return self._mismatch(a, b) or "equal within tolerance"


@dataclass(frozen=True)
class UpToFunctor:
    """``a ~ b`` iff ``inner(F(a), F(b))``: equality after applying a functor (or any map)."""

    functor: Callable[[Any], Any]
    inner: Equality = field(default_factory=Exact)

    def __call__(self, a: Any, b: Any) -> bool:
        return self.inner(self.functor(a), self.functor(b))

    def explain(self, a: Any, b: Any) -> str:
        return "after the functor: " + self.inner.explain(self.functor(a), self.functor(b))
