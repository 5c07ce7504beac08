"""Fisher against Euclidean pair order: the AUC against scipy's Mann-Whitney U, the
distances against direct computations, and the store."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from adapters.categories.fisher import FisherMetric, fisher_length
from adapters.runtime.store import Store
from adapters.studies.fisher_order import auc, fisher_order
from catcore.instances.paths import Paths


def test_auc_is_the_mann_whitney_statistic():
    rng = np.random.default_rng(0)
    d = rng.integers(0, 6, size=40).astype(float)  # ties on purpose
    linked = rng.random(40) < 0.3
    u = stats.mannwhitneyu(d[~linked], d[linked]).statistic  # far beats near
    assert auc(d.tolist(), linked) == pytest.approx(u / (linked.sum() * (~linked).sum()))
    assert auc([1.0, 2.0], np.array([True, True])) is None


def test_distances_and_orders(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    X = torch.randn(8, 3)
    n = sum(p.numel() for p in model.parameters())
    points = torch.randn(4, n, dtype=torch.float64)
    metric, K = FisherMetric(model, X), Paths(n)
    want = [fisher_length(K.linear(points[i].numpy(), points[j].numpy()), metric, 1e-3).length
            for i in range(4) for j in range(i + 1, 4)]  # fmt: skip
    barriers = np.zeros((4, 4))
    barriers[np.triu_indices(4, 1)] = want  # barriers ordered exactly as the Fisher lengths
    store = Store(tmp_path / "s.db")
    got = fisher_order(model, X, points, barriers, eps=float(np.median(want)), store=store)
    assert got["fisher_length"] == pytest.approx(want)
    assert got["euclidean_length"][0] == pytest.approx(float((points[0] - points[1]).norm()))
    assert got["spearman"]["fisher"] == pytest.approx(1.0) and got["auc_linked"]["fisher"] == 1.0
    assert len(list(store.keys("fisher-length/"))) == 6
    again = fisher_order(model, X, points, barriers, eps=float(np.median(want)), store=store)
    assert again == got
