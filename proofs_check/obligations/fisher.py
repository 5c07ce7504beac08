"""Obligations of the Fisher-enriched Param (Def 8.1): a closed-form length and the
enrichment's laws on a ReLU network, with the Euclidean metric as the control that must
fail. ``adapters`` is imported inside each check. See ``docs/theory.md``, "Def 8.1".
"""

from __future__ import annotations

import numpy as np
import sympy

from proofs_check.obligations.common import report_outcome
from proofs_check.obligations.networks import single_thread
from proofs_check.registry import Outcome, obligation


@obligation(
    "fisher.two-class-closed-form",
    "For logits W x of a two-class softmax model on one input, the Fisher length of the "
    "segment W0 -> W0 + V is |atan(sinh(z1/2)) - atan(sinh(z0/2))|, z = (w_1 - w_2) . x "
    "(g = sigma(z)(1 - sigma(z)) z'^2; the antiderivative of sqrt(sigma (1 - sigma)) is "
    "proved by sympy); fisher_length matches it on 5 random segments to 1e-9.",
    "numeric",
    "def-8-1",
)
def two_class_closed_form() -> Outcome:
    import torch
    from torch import nn

    from adapters.categories.fisher import FisherMetric, fisher_length
    from catcore.instances.paths import Paths

    z = sympy.Symbol("z", real=True)
    sigma = 1 / (1 + sympy.exp(-z))
    squared = sympy.diff(sympy.atan(sympy.sinh(z / 2)), z) ** 2 - sigma * (1 - sigma)
    if sympy.simplify(squared.rewrite(sympy.exp)) != 0:
        return Outcome.fail(squared, "the antiderivative does not square to sigma (1 - sigma)")
    rng = np.random.default_rng(0)
    worst = 0.0
    with single_thread():
        for _ in range(5):
            x = torch.from_numpy(rng.normal(size=(1, 3)))
            metric = FisherMetric(nn.Linear(3, 2, bias=False), x)
            W0, V = rng.normal(size=(2, 2, 3))
            got = fisher_length(Paths(6).linear(W0.ravel(), (W0 + V).ravel()), metric, 1e-12)
            xs = x[0].numpy()
            z0, z1 = (W0[0] - W0[1]) @ xs, (W0[0] + V[0] - W0[1] - V[1]) @ xs
            want = abs(np.arctan(np.sinh(z1 / 2)) - np.arctan(np.sinh(z0 / 2)))
            worst = max(worst, abs(got.length - want) / want)
            if not got.converged or worst > 1e-9:
                return Outcome.fail({"got": got, "want": want}, f"relative error {worst:.2e}")
    return Outcome.ok(f"5 segments, worst relative error {worst:.1e}")


def _relu_examples(metric, scale: bool) -> dict:
    """Examples of each law's kind on a 4-5-3 ReLU network; the symmetric pairs are built
    by hand (hidden units permuted, ReLU inputs scaled by ``s`` and outputs by ``1/s``)."""
    import torch
    from torch import nn

    from catcore.instances.paths import Paths

    K, rng = Paths(metric.dim), np.random.default_rng(1)

    def net(seed):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)).double()

    def image(m, perm, s):
        W1, b1 = m[0].weight.detach().numpy(), m[0].bias.detach().numpy()
        W2, b2 = m[2].weight.detach().numpy(), m[2].bias.detach().numpy()
        return np.concatenate([(s[:, None] * W1[perm]).ravel(), s * b1[perm],
                               (W2[:, perm] / s).ravel(), b2])  # fmt: skip

    a, b, c = (metric.space.vector(net(k)).numpy() for k in (1, 2, 3))
    perm, s = rng.permutation(5), rng.uniform(0.3, 3.0, 5) if scale else np.ones(5)
    one, two = net(4), net(5)
    f = K.linear(metric.space.vector(one).numpy(), metric.space.vector(two).numpy())
    g = K.linear(image(one, perm, s), image(two, perm, s))
    return {"object": [a], "arrow": [K.bezier(np.stack([a, b, c]), duration=2.0)],
            "composable": [(K.linear(a, b), K.through(np.stack([b, c, a]), [0.0, 0.5, 3.0]))],
            "symmetric pair": [(f, g)]}  # fmt: skip


@obligation(
    "fisher.enrichment-laws",
    "Def 8.1 on a 4-5-3 ReLU network (16 inputs): the Fisher length is additive under "
    "composition, zero on identities, invariant under s -> s^2 and under a hidden-unit "
    "permutation with ReLU rescaling; the Euclidean metric, checked by the same laws, fails "
    "exactly the symmetry law (and passes it for a permutation alone).",
    "numeric",
    "def-8-1",
)
def enrichment() -> Outcome:
    import torch
    from torch import nn

    from adapters.categories.fisher import EuclideanMetric, FisherMetric, enrichment_laws
    from catcore.laws import check_examples

    with single_thread():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
        metric = FisherMetric(model, torch.randn(16, 4))
        fisher = check_examples(enrichment_laws(metric), _relu_examples(metric, True))
        euclid = EuclideanMetric(metric.dim)
        control = check_examples(enrichment_laws(euclid), _relu_examples(metric, True))
        plain = check_examples(enrichment_laws(euclid), _relu_examples(metric, False))
    failed = {f.law for f in control.failures}
    if failed != {"symmetry"}:
        return Outcome.fail(failed, "the Euclidean control must fail exactly 'symmetry'")
    return report_outcome(fisher, plain)
