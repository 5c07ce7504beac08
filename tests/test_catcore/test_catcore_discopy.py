"""catcore's suites on DisCoPy categories, functors and natural transformations, and what
they find in ``discopy.python.finset.Function`` (``docs/catcore.md``, "DisCoPy")."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

pytest.importorskip("discopy")

from discopy import cat  # noqa: E402
from discopy.matrix import Matrix  # noqa: E402
from discopy.python.finset import Function  # noqa: E402

from catcore import check  # noqa: E402
from catcore.interop.discopy import (  # noqa: E402
    DisCoPyCategory,
    function_contract,
    functor,
    natural,
)
from catcore.suites import category_gens, category_laws, functor_laws, naturality_laws  # noqa: E402

X, Y, Z = cat.Ob("x"), cat.Ob("y"), cat.Ob("z")
BOXES = [cat.Box("f", X, Y), cat.Box("g", Y, Z), cat.Box("h", Z, X), cat.Box("k", X, X)]
FREE = DisCoPyCategory(cat.Arrow, name="DisCoPy free category")
MAT = DisCoPyCategory(Matrix[int], name="DisCoPy Matrix[int]")


def walks(start):
    """Composites of up to three boxes out of ``start`` (the identity when none)."""

    @st.composite
    def build(draw):
        arrow, at = cat.Arrow.id(start), start
        for _ in range(draw(st.integers(0, 3))):
            options = [b for b in BOXES if b.dom == at]
            box = draw(st.sampled_from(options))
            arrow, at = arrow >> box, box.cod
        return FREE.wrap(arrow)

    return build()


FREE_GENS = category_gens(st.sampled_from([X, Y, Z]), arrows_from=walks)
DIMS = {X: 1, Y: 2, Z: 2}
IMAGES = {
    BOXES[0]: Matrix[int]([1, 2], 1, 2),
    BOXES[1]: Matrix[int]([0, 1, 1, 0], 2, 2),
    BOXES[2]: Matrix[int]([1, -1], 2, 1),
    BOXES[3]: Matrix[int]([3], 1, 1),
}


def scaled(m, k):
    """``k m`` as a DisCoPy matrix."""
    return Matrix[int]([int(v) * k for v in m.array.flatten()], m.dom, m.cod)


def as_matrices(name="M"):
    return functor(
        cat.Functor(ob=DIMS, ar=IMAGES, cod=cat.Category(int, Matrix[int])), FREE, MAT, name
    )


def test_free_category_and_matrices_pass_the_category_suite():
    assert check(category_laws(FREE), FREE_GENS, max_examples=30).ok

    def matrices(m, n):
        cells = st.lists(st.integers(-3, 3), min_size=m * n, max_size=m * n)
        return cells.map(lambda xs: MAT.wrap(Matrix[int](xs, m, n)))

    report = check(
        category_laws(MAT), category_gens(st.integers(0, 3), hom=matrices), max_examples=30
    )
    assert report.ok, report.summary()


def test_a_discopy_functor_passes_the_functor_suite_and_a_broken_one_fails():
    assert check(functor_laws(as_matrices()), FREE_GENS, max_examples=30).ok
    M = as_matrices()
    bad = type(M)(M.dom, M.cod, M.ob, lambda f: MAT.wrap(scaled(M.ar(f).inner, 2)), "2F")
    report = check(functor_laws(bad), FREE_GENS, max_examples=30)
    assert not report.ok
    assert {f.law for f in report.failures} == {
        "functor preserves identity",
        "functor preserves composition",
    }


def test_naturality_between_two_discopy_functors():
    M = as_matrices()
    twice = natural(M, M, lambda x: scaled(Matrix[int].id(DIMS[x]), 2), name="2")
    assert check(naturality_laws(twice), FREE_GENS, max_examples=30).ok
    skew = natural(
        M, M, lambda x: Matrix[int]([1, 0, 0, 2], 2, 2) if DIMS[x] == 2 else Matrix[int].id(1)
    )
    report = check(naturality_laws(skew), FREE_GENS, max_examples=30)
    assert not report.ok and {f.law for f in report.failures} == {"naturality square"}


def functions(C, contract_dom_to_cod: bool):
    """``Function``s with ``inside`` drawn as the docstring says (``range(dom) ->
    range(cod)``) or the other way round."""

    def hom(m, n):
        keys, values = (m, n) if contract_dom_to_cod else (n, m)
        if keys and not values:
            return st.nothing()
        cells = st.lists(st.integers(0, max(values - 1, 0)), min_size=keys, max_size=keys)
        return cells.map(lambda vs: C.wrap(Function(dict(enumerate(vs)), m, n)))

    return category_gens(st.integers(0, 3), hom=hom)


FINSET = DisCoPyCategory(Function, name="discopy FinSet", contract=function_contract)


def test_discopy_function_composes_against_its_own_docstring():
    """The docstring says ``inside`` maps ``range(dom)`` to ``range(cod)``; ``then`` computes
    ``{i: self[other[i]] for i in range(other.cod)}``, which reads ``inside`` the other way.
    Under the docstring's contract the suite finds composites that are not functions."""
    report = check(category_laws(FINSET), functions(FINSET, True), max_examples=40)
    assert not report.ok
    failure = next(f for f in report.failures if f.law == "composites are well typed")
    # a composite that is not a function, or one that cannot even be computed
    assert "range(" in failure.reason or "KeyError" in failure.reason, failure
    # read contravariantly (inside: range(cod) -> range(dom)) the same code is lawful
    reversed_ = DisCoPyCategory(Function, name="discopy FinSet, reversed", contract=_reversed)
    ok = check(category_laws(reversed_), functions(reversed_, False), max_examples=40)
    assert ok.ok, ok.summary()


def _reversed(f):
    if set(f.inside) != set(range(f.cod)):
        return f"keys {sorted(f.inside)} are not range(cod={f.cod})"
    if any(not 0 <= v < f.dom for v in f.inside.values()):
        return f"values fall outside range(dom={f.dom})"
    return None
