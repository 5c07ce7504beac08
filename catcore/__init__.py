"""catcore: executable, checkable category theory (framework-free; never imports torch).

Categories, functors, natural transformations, 2-cells, limits and their law suites, with
laws as data and pluggable equality. See ``docs/catcore.md``.
"""

from catcore.category import Category, Morphism
from catcore.equality import Exact, Tolerance, UpToFunctor
from catcore.errors import CategoryError, CompositionError, LimitError, MorphismError, NotAConeError
from catcore.functor import Functor, identity_functor
from catcore.laws import Equation, Failure, Law, Report, RuleSet, check, check_examples
from catcore.limits import (
    Cone,
    Diagram,
    Limit,
    Preservation,
    equalizer,
    preservation,
    product,
    pullback,
    terminal,
)
from catcore.natural import NaturalTransformation
from catcore.twocell import TwoCategory, TwoCell

__version__ = "0.1.0"

__all__ = [
    "Category",
    "CategoryError",
    "CompositionError",
    "Cone",
    "Diagram",
    "Equation",
    "Exact",
    "Failure",
    "Functor",
    "Law",
    "Limit",
    "LimitError",
    "Morphism",
    "MorphismError",
    "NaturalTransformation",
    "NotAConeError",
    "Preservation",
    "Report",
    "RuleSet",
    "Tolerance",
    "TwoCategory",
    "TwoCell",
    "UpToFunctor",
    "check",
    "check_examples",
    "equalizer",
    "identity_functor",
    "preservation",
    "product",
    "pullback",
    "terminal",
]
