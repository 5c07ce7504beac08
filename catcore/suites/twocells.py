"""The laws of a 2-category (``docs/catcore.md``, "2-cells").

Kinds (built by :func:`catcore.strategies.twocell_gens`): the category kinds, ``cell`` (one
2-cell), ``vchain3`` (three vertically composable 2-cells), ``hchain3`` (three horizontally
composable 2-cells) and ``interchange`` (``(alpha, beta, gamma, delta)`` with
``alpha;beta`` and ``gamma;delta`` vertically composable and ``alpha``, ``gamma``
horizontally composable).
"""

from __future__ import annotations

from typing import Any

from catcore.laws import Equation, Law, RuleSet
from catcore.suites.basic import category_laws
from catcore.suites.typing import IsCell
from catcore.twocell import TwoCategory


def _ends(K: TwoCategory, cell: Any, source: Any, target: Any) -> Equation:
    """``cell`` runs ``source => target`` (arrows compared with ``K.equality``)."""
    return Equation((cell.source, cell.target), (source, target), eq=K.equality)


def twocell_laws(K: TwoCategory) -> RuleSet:
    """Well-formed cells and composites; vertical unit and associativity; horizontal unit,
    associativity and ``id2(f) * id2(g) == id2(f ; g)``; the interchange law.

    The vertical laws compare with ``K.vertical_equality`` and the horizontal unit and
    associativity laws with ``K.horizontal_equality`` when they are set (a 2-category whose
    laws hold up to reparametrization); the others with ``K.equality``.
    """
    veq, heq = K.vertical_equality, K.horizontal_equality
    V, H = K.vcompose, K.hcompose

    def cells_ok(cells: dict) -> Equation:
        return Equation(cells, None, eq=IsCell(K))

    def vertical_ends(abc: tuple) -> Equation:
        a, b, c = abc
        both = V(V(a, b), c)
        return Equation(
            (V(a, b).source, V(a, b).target, both.source, both.target),
            (a.source, b.target, a.source, c.target),
            eq=K.equality,
        )

    def horizontal_ends(abc: tuple) -> Equation:
        a, b, _ = abc
        ab = H(a, b)
        return _ends(K, ab, K.compose(a.source, b.source), K.compose(a.target, b.target))

    def interchange(cells: tuple) -> Equation:
        a, b, c, d = cells
        return Equation(H(V(a, b), V(c, d)), V(H(a, c), H(b, d)))

    return RuleSet(
        f"2-cells of {K.name}",
        (
            Law("2-cells are well formed", "cell", lambda a: cells_ok({"the cell": a})),
            Law(
                "composites are 2-cells",
                "interchange",
                lambda q: cells_ok(
                    {
                        "a;b": V(q[0], q[1]),
                        "a*c": H(q[0], q[2]),
                        "(a;b)*(c;d)": H(V(*q[:2]), V(*q[2:])),
                    }
                ),
            ),
            Law(
                "identity 2-cells are well formed",
                "arrow",
                lambda f: Equation({"id2": K.id2(f)}, None, eq=IsCell(K)),
            ),
            Law("identity 2-cell ends", "arrow", lambda f: _ends(K, K.id2(f), f, f)),
            Law("vertical composite ends", "vchain3", vertical_ends),
            Law("horizontal composite ends", "hchain3", horizontal_ends),
            Law(
                "vertical left unit",
                "cell",
                lambda a: Equation(V(K.id2(a.source), a), a, eq=veq),
            ),
            Law(
                "vertical right unit",
                "cell",
                lambda a: Equation(V(a, K.id2(a.target)), a, eq=veq),
            ),
            Law(
                "vertical associativity",
                "vchain3",
                lambda abc: Equation(
                    V(V(abc[0], abc[1]), abc[2]), V(abc[0], V(abc[1], abc[2])), eq=veq
                ),
            ),
            Law(
                "horizontal left unit",
                "cell",
                lambda a: Equation(H(K.id2(K.identity(a.source.dom)), a), a, eq=heq),
            ),
            Law(
                "horizontal right unit",
                "cell",
                lambda a: Equation(H(a, K.id2(K.identity(a.source.cod))), a, eq=heq),
            ),
            Law(
                "horizontal associativity",
                "hchain3",
                lambda abc: Equation(
                    H(H(abc[0], abc[1]), abc[2]), H(abc[0], H(abc[1], abc[2])), eq=heq
                ),
            ),
            Law(
                "horizontal composite of identities",
                "chain2",
                lambda fg: Equation(H(K.id2(fg[0]), K.id2(fg[1])), K.id2(K.compose(*fg))),
            ),
            Law("interchange", "interchange", interchange),
        ),
        parents=(category_laws(K),),
        equality=K.equality,
    )
