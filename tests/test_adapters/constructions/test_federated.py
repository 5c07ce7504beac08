"""Federated averaging as a colimit (Def 4.4): the server model against a hand-computed
weighted average, the mediating morphism's triangles, the representation defect on
affine and non-affine representations, and the label-skewed split."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from adapters.constructions.federated import label_skew, representation_defect, server_step
from adapters.studies.federated_study import federated_study, plot_federated
from catcore.instances import VectR


def test_the_server_model_is_the_weighted_average_through_the_colimit():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=7)
    clients = [theta + rng.normal(size=7) for _ in range(3)]
    sizes = [10, 30, 60]
    step = server_step(theta, clients, sizes)
    want = (10 * clients[0] + 30 * clients[1] + 60 * clients[2]) / 100
    np.testing.assert_allclose(step.theta, want, rtol=1e-12)
    for k, leg in enumerate(step.coproduct.legs):  # u . e_k = l_k: the cocone's triangles
        assert VectR.equality(VectR.compose(leg, step.mediating), step.cocone.legs[k])
    plain_mean = np.mean(clients, axis=0)  # what a server ignoring the data sizes would give
    assert not np.allclose(step.theta, plain_mean, rtol=1e-3)
    with pytest.raises(ValueError, match="positive"):
        server_step(theta, clients, [1, 0, 2])


def test_an_affine_representation_preserves_the_colimit_and_tanh_does_not():
    rng = np.random.default_rng(1)
    A, b = torch.from_numpy(rng.normal(size=(5, 4))), torch.from_numpy(rng.normal(size=5))
    theta = rng.normal(size=4)
    clients = [theta + rng.normal(size=4) for _ in range(3)]
    step = server_step(theta, clients, [1, 2, 3])
    affine = representation_defect(lambda t: A @ t + b, theta, clients, [1, 2, 3], step.theta)
    assert affine["defect"] < 1e-12
    bent = representation_defect(lambda t: torch.tanh(A @ t + b), theta, clients, [1, 2, 3],
                                 step.theta)  # fmt: skip
    assert bent["defect"] > 1e-3
    same = [theta + 0.5 * np.ones(4)] * 3  # clients that agree have no drift
    flat = server_step(theta, same, [1, 1, 1])
    assert representation_defect(lambda t: A @ t, theta, same, [1, 1, 1], flat.theta)["drift"] == 0


def test_label_skew_gives_each_client_its_labels():
    y = torch.arange(10).repeat(7)
    parts = label_skew(y, clients=5, classes_per_client=2, seed=3)
    held = [set(y[p].tolist()) for p in parts]
    assert all(len(h) == 2 for h in held) and set().union(*held) == set(range(10))
    flat = torch.cat(parts)
    assert len(flat) == len(set(flat.tolist())) == len(y)


def test_study_smoke(tmp_path):
    r = federated_study(clients=3, rounds=3, local_steps=3, probe=16)
    json.dumps(r)
    assert len(r["rounds"]) == len(r["centralized"]) == 3
    assert all(x["defect"] >= 0 and 0 <= x["accuracy"] <= 1 for x in r["rounds"])
    assert plot_federated(r, tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
