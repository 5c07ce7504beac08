"""Built-in categories: exact (FinSet, Vect over Q, free categories, posets) and numeric
(Vect over floats, Moore paths in R^n with homotopies). See ``docs/catcore.md``."""

from catcore.instances.finset import FinFunction, FinSet, FinSetCategory, FinSetObject
from catcore.instances.free import FreeCategory, GraphPath
from catcore.instances.paths import Homotopy, Path, Paths, UpToReparametrization
from catcore.instances.poset import Leq, Poset
from catcore.instances.vect import LinearMap, NumericVectCategory, Space, VectQ, VectR

__all__ = [
    "FinFunction",
    "FinSet",
    "FinSetCategory",
    "FinSetObject",
    "FreeCategory",
    "GraphPath",
    "Homotopy",
    "LinearMap",
    "Leq",
    "NumericVectCategory",
    "Path",
    "Paths",
    "Poset",
    "Space",
    "UpToReparametrization",
    "VectQ",
    "VectR",
]
