"""Fisher against Euclidean distance between trained networks (Def 8.1 in the homotopy
study): which of the two orders pairs of networks the way their loss barriers do?

For every pair ``(i, j)`` of the ensemble, the Fisher length of the straight segment
``theta_i -> theta_j`` (:func:`adapters.categories.fisher.fisher_length`, the metric on a
probe of the training inputs) and its Euclidean length are compared with the pair's loss
barrier: by Spearman's rank correlation, and by the AUC of the distance as a predictor of
"linked" (barrier at most ``eps``): the probability that a linked pair is closer than an
unlinked one (1: every linked pair first, as the pruned class search would want them;
0.5: no better than chance). See ``docs/theory.md``, "Def 8.1".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

from adapters.categories.fisher import FisherMetric, fisher_length
from adapters.runtime.store import Store, digest, tensor_digest
from catcore.instances.paths import Paths


def fisher_order(
    model: nn.Module,
    X: torch.Tensor,
    points: torch.Tensor,
    barriers: np.ndarray,
    eps: float,
    store: Store | None = None,
    tol: float = 1e-3,
) -> dict[str, Any]:
    """Distances of every pair of ``points`` (rows, parameters of ``model``) under the
    Fisher metric on inputs ``X`` and the Euclidean one, against ``barriers`` (``(N, N)``).
    Each pair's Fisher length is stored in ``store`` as soon as it is computed."""
    metric = FisherMetric(model, X)
    K = Paths(metric.dim)
    P = points.detach().to(torch.float64).numpy()
    hashes = [tensor_digest(p) for p in points]
    pairs = [(i, j) for i in range(len(P)) for j in range(i + 1, len(P))]
    fisher, converged = [], True
    for i, j in pairs:
        key = f"fisher-length/{digest(hashes[i], hashes[j], tensor_digest(X), tol)}"
        hit = store.get(key) if store is not None else None
        if hit is None:
            r = fisher_length(K.linear(P[i], P[j]), metric, tol=tol)
            hit = {"length": r.length, "converged": r.converged}
            if store is not None:
                store.put(key, hit)
        fisher.append(hit["length"])
        converged &= hit["converged"]
    euclid = [float(np.linalg.norm(P[i] - P[j])) for i, j in pairs]
    barrier = np.array([barriers[i][j] for i, j in pairs], dtype=float)
    linked = barrier <= eps
    return {
        "pairs": len(pairs), "probe": len(X), "tol": tol, "all_converged": bool(converged),
        "spearman": {"fisher": _spearman(fisher, barrier), "euclidean": _spearman(euclid, barrier)},
        "auc_linked": {"fisher": auc(fisher, linked), "euclidean": auc(euclid, linked)},
        "linked_pairs": int(linked.sum()),
        "fisher_length": fisher, "euclidean_length": euclid,
    }  # fmt: skip


def _spearman(x: list[float], y: np.ndarray) -> float | None:
    ok = np.isfinite(y)
    if ok.sum() < 3 or np.ptp(y[ok]) == 0:
        return None
    return float(stats.spearmanr(np.asarray(x)[ok], y[ok]).statistic)


def auc(distance: list[float], linked: np.ndarray) -> float | None:
    """P(a linked pair is closer than an unlinked one), ties counted half; ``None`` when
    either kind is absent.

    >>> auc([1.0, 2.0, 3.0], np.array([True, False, False]))
    1.0
    """
    d = np.asarray(distance, dtype=float)
    near, far = d[linked], d[~linked]
    if not len(near) or not len(far):
        return None
    wins = (near[:, None] < far[None, :]).sum() + 0.5 * (near[:, None] == far[None, :]).sum()
    return float(wins / (len(near) * len(far)))
