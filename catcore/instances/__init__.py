"""Built-in categories: exact (FinSet, Vect over Q, free categories, posets, Rel, Mat(S))
and numeric (Vect over floats, Moore paths in R^n with homotopies), and constructions on
any category (``Op(C)``, ``C x D``, slices ``C/X`` and coslices ``X/C``). See
``docs/catcore.md``."""

from catcore.instances.finset import FinFunction, FinSet, FinSetCategory, FinSetObject
from catcore.instances.free import FreeCategory, GraphPath
from catcore.instances.mat import BOOLEAN, TROPICAL, Mat, MatArrow, Semiring
from catcore.instances.op import Op, OpArrow
from catcore.instances.paths import Homotopy, Path, Paths
from catcore.instances.poset import Leq, Poset
from catcore.instances.product import PairArrow, Pairwise, ProductCategory
from catcore.instances.rel import Rel, Relation, RelCategory
from catcore.instances.reparametrization import UpToReparametrization, by_arclength
from catcore.instances.slice import Coslice, OverArrow, Slice
from catcore.instances.vect import LinearMap, NumericVectCategory, Space, VectQ, VectR

__all__ = [
    "BOOLEAN",
    "Coslice",
    "FinFunction",
    "FinSet",
    "FinSetCategory",
    "FinSetObject",
    "FreeCategory",
    "GraphPath",
    "Homotopy",
    "Leq",
    "LinearMap",
    "Mat",
    "MatArrow",
    "NumericVectCategory",
    "Op",
    "OpArrow",
    "OverArrow",
    "PairArrow",
    "Pairwise",
    "Path",
    "Paths",
    "Poset",
    "ProductCategory",
    "Rel",
    "RelCategory",
    "Relation",
    "Semiring",
    "Slice",
    "Space",
    "TROPICAL",
    "UpToReparametrization",
    "VectQ",
    "VectR",
    "by_arclength",
]
