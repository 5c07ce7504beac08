"""Obligations of federated averaging as a colimit (Def 4.4): the server model is the
image of the mediating morphism out of catcore's coproduct of the clients' update lines,
and the representation defect vanishes exactly for an affine representation. See
``docs/theory.md``, "Def 4.4"."""

from __future__ import annotations

import numpy as np

from proofs_check.registry import Outcome, obligation


@obligation(
    "federated.colimit-known-answers",
    "For 4 clients with data sizes 1, 2, 3, 4 in R^6: the mediating morphism u out of the "
    "coproduct of the update lines (cocone l_k = w_k Delta_k) satisfies u . e_k = l_k, and "
    "theta_r + u(1, ..., 1) equals sum_k n_k theta_k / sum n computed by hand; the "
    "representation defect is 0 for phi(theta) = A theta + b and positive for tanh of it; "
    "catcore's colimit laws hold on the round's diagram, with a hand-built copairing as the "
    "uniqueness candidate.",
    "numeric",
    "def-4-4",
)
def colimit_known_answers() -> Outcome:
    import torch

    from adapters.constructions.federated import representation_defect, server_step
    from catcore.instances import VectR

    rng = np.random.default_rng(0)
    theta = rng.normal(size=6)
    clients, sizes = [theta + rng.normal(size=6) for _ in range(4)], [1, 2, 3, 4]
    step = server_step(theta, clients, sizes)
    want = sum(n * c for n, c in zip(sizes, clients)) / sum(sizes)
    if not np.allclose(step.theta, want, rtol=1e-12, atol=1e-12):
        return Outcome.fail({"got": step.theta, "want": want}, "not the weighted average")
    for k, leg in enumerate(step.coproduct.legs):
        if not VectR.equality(VectR.compose(leg, step.mediating), step.cocone.legs[k]):
            return Outcome.fail(k, "a triangle u . e_k = l_k does not commute")
    laws = _colimit_suite(step, theta, clients, sizes)
    if not laws.passed:
        return laws
    A, b = torch.from_numpy(rng.normal(size=(3, 6))), torch.from_numpy(rng.normal(size=3))
    flat = representation_defect(lambda t: A @ t + b, theta, clients, sizes, step.theta)
    bent = representation_defect(lambda t: torch.tanh(A @ t + b), theta, clients, sizes,
                                 step.theta)  # fmt: skip
    if not (flat["defect"] < 1e-12 < 1e-3 < bent["defect"]):
        return Outcome.fail({"affine": flat, "tanh": bent}, "defects out of order")
    return Outcome.ok(f"{laws.details}; affine defect {flat['defect']:.1e}, "
                      f"tanh {bent['defect']:.3f}")


def _colimit_suite(step, theta, clients, sizes) -> Outcome:
    """catcore's colimit laws on the round's diagram and cocone, with a hand-built
    copairing (and the unweighted one, which must not commute) as uniqueness candidates."""
    from catcore.instances import VectR
    from catcore.instances.vect import Space
    from catcore.laws import check_examples
    from catcore.suites import colimit_laws
    from proofs_check.obligations.common import report_outcome

    w = np.asarray(sizes, dtype=float) / sum(sizes)
    updates = np.stack([c - theta for c in clients], axis=1)
    dom, cod = Space(len(clients)), Space(theta.size)
    by_hand = VectR.morphism(updates * w[None, :], dom, cod)
    unweighted = VectR.morphism(updates / len(clients), dom, cod)
    d = step.coproduct.colimit.diagram
    examples = {"diagram": [d], "cocone": [(d, step.cocone)],
                "cocandidates": [(d, step.cocone, [by_hand, unweighted])]}  # fmt: skip
    return report_outcome(check_examples(colimit_laws(VectR), examples))
