"""catcore: executable, checkable category theory (framework-free; never imports torch).

Categories, functors, natural transformations, 2-cells, limits and colimits and their law
suites, with laws as data and pluggable equality. See ``docs/catcore.md``.
"""

from catcore.category import Category, Morphism
from catcore.colimits import (
    Cocone,
    Colimit,
    coequalizer,
    colimit_preservation,
    coproduct,
    initial,
    pushout,
)
from catcore.equality import Exact, Tolerance, UpToFunctor
from catcore.errors import (
    CategoryError,
    CompositionError,
    LimitError,
    MorphismError,
    NotACoconeError,
    NotAConeError,
)
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
    "Cocone",
    "Colimit",
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
    "NotACoconeError",
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
    "coequalizer",
    "colimit_preservation",
    "coproduct",
    "equalizer",
    "identity_functor",
    "initial",
    "preservation",
    "product",
    "pullback",
    "pushout",
    "terminal",
]
