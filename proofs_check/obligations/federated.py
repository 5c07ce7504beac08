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
    "representation defect is 0 for phi(theta) = A theta + b and positive for tanh of it.",
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
    A, b = torch.from_numpy(rng.normal(size=(3, 6))), torch.from_numpy(rng.normal(size=3))
    flat = representation_defect(lambda t: A @ t + b, theta, clients, sizes, step.theta)
    bent = representation_defect(lambda t: torch.tanh(A @ t + b), theta, clients, sizes,
                                 step.theta)  # fmt: skip
    if not (flat["defect"] < 1e-12 < 1e-3 < bent["defect"]):
        return Outcome.fail({"affine": flat, "tanh": bent}, "defects out of order")
    return Outcome.ok(f"affine defect {flat['defect']:.1e}, tanh {bent['defect']:.3f}")
