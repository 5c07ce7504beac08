"""Tests for the persistence-generalization study (adapters.studies.persistence_study) and its
plots."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from scipy import stats
from torch import nn

from adapters.nets.data import digits
from adapters.nets.engine import Engine
from adapters.nets.models import mlp
from adapters.runtime.store import Store
from adapters.studies.linear_fit import fit_linear
from adapters.studies.persistence_plots import plot_diagrams, plot_r2_vs_radius, plot_study
from adapters.studies.persistence_study import (
    VARIANTS,
    StudyNetwork,
    StudySettings,
    persistence_study,
)

PNG = b"\x89PNG\r\n\x1a\n"


# -- the fit ------------------------------------------------------------------------------------
def test_fit_matches_linregress_and_finds_a_real_relation():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 25)
    y = -2.0 * x + 0.5 + 0.1 * rng.normal(size=25)
    fit = fit_linear(x, y, n_boot=400, n_perm=400)
    ref = stats.linregress(x, y)
    assert fit.a == pytest.approx(ref.slope) and fit.b == pytest.approx(ref.intercept)
    assert fit.r2 == pytest.approx(ref.rvalue**2)
    assert fit.a_ci[0] < -2.0 < fit.a_ci[1]
    assert fit.r2_ci[0] < fit.r2 < fit.r2_ci[1]
    assert fit.p_value == pytest.approx(1 / 401)  # no permutation reaches the observed R^2
    assert fit.degenerate is None


def test_fit_of_unrelated_data_is_not_significant():
    rng = np.random.default_rng(1)
    fit = fit_linear(rng.normal(size=30), rng.normal(size=30), n_boot=200, n_perm=400)
    assert fit.p_value > 0.05
    assert fit.r2 < 0.2


def test_fit_p_value_matches_its_definition():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([0.0, 2.0, 1.0, 3.0])
    fit = fit_linear(x, y, n_boot=10, n_perm=300, seed=5)
    # permutation null over the 24 orderings of y, computed exactly here
    import itertools

    def r2(yy):
        return stats.linregress(x, yy).rvalue ** 2

    null = [r2(np.array(p)) for p in itertools.permutations(y)]
    exact = np.mean(np.array(null) >= r2(y) - 1e-12)
    assert fit.p_value == pytest.approx(exact, abs=0.06)


def test_fit_is_degenerate_on_constant_persistence():
    fit = fit_linear(np.zeros(6), np.arange(6.0))
    assert fit.degenerate is not None and "equal" in fit.degenerate
    assert math.isnan(fit.a) and math.isnan(fit.r2) and math.isnan(fit.p_value)
    assert fit.b == pytest.approx(2.5)
    assert "only 2" in fit_linear([0.0, 1.0], [1.0, 2.0]).degenerate
    with pytest.raises(ValueError, match="length"):
        fit_linear([1.0, 2.0, 3.0], [1.0, 2.0])


# -- the study on a tiny ensemble ---------------------------------------------------------------
@pytest.fixture(scope="module")
def ensemble():
    data = digits()
    nets, train_sets = [], {}
    for i, n_train in enumerate((60, 120, 240, 480)):
        torch.manual_seed(i)
        net = mlp(64, (6,), 10)
        X, y = data.X_train[:n_train], data.y_train[:n_train]
        opt = torch.optim.Adam(net.parameters(), lr=0.02)
        for _ in range(60):
            opt.zero_grad()
            F.cross_entropy(net(X), y).backward()
            opt.step()
        with torch.no_grad():
            gap = float((net(X).argmax(1) == y).float().mean()
                        - (net(data.X_test).argmax(1) == data.y_test).float().mean())  # fmt: skip
        nets.append(StudyNetwork(f"net{i}", net, gap))
        train_sets[f"net{i}"] = (net, X, y)
    return nets, train_sets


class CountingFactory:
    """Builds each network's engine on its own training set and counts evaluations."""

    def __init__(self, train_sets):
        self.by_model = {id(net): (X, y) for net, X, y in train_sets.values()}
        self.engines: list[Engine] = []

    def __call__(self, model: nn.Module) -> Engine:
        X, y = self.by_model[id(model)]
        engine = Engine(model, X, y)
        self.engines.append(engine)
        return engine

    @property
    def evaluations(self) -> int:
        return sum(e.evaluations for e in self.engines)


SETTINGS = StudySettings(radii=(0.05, 0.5), n_samples=60, k=6, seed=3)


def test_study_measures_every_network_and_resumes_from_the_cache(ensemble, tmp_path):
    nets, train_sets = ensemble
    store = Store(tmp_path / "study.sqlite")
    first = CountingFactory(train_sets)
    one_radius = StudySettings(radii=(0.05,), n_samples=60, k=6, seed=3)
    partial = persistence_study(nets, first, one_radius, cache=store, n_boot=50, n_perm=50,
                                progress=False)  # fmt: skip
    assert first.evaluations == len(nets) * (60 + 1)  # the samples and the centre
    second = CountingFactory(train_sets)
    full = persistence_study(nets, second, SETTINGS, cache=store, n_boot=50, n_perm=50,
                             progress=False)  # fmt: skip
    assert second.evaluations == len(nets) * (60 + 1)  # only the new radius was measured
    third = CountingFactory(train_sets)
    again = persistence_study(nets, third, SETTINGS, cache=store, n_boot=50, n_perm=50,
                              progress=False)  # fmt: skip
    assert third.evaluations == 0
    for key in full.pers:
        np.testing.assert_array_equal(full.pers[key], again.pers[key])
    np.testing.assert_array_equal(partial.pers[("h0", 0.05)], full.pers[("h0", 0.05)])
    assert set(full.fits) == {(v, r) for v in VARIANTS for r in SETTINGS.radii}
    np.testing.assert_allclose(full.gaps, [n.gap for n in nets])
    assert "paper" in full.report() and "h0_capped" in full.report()


def test_variants_relate_as_defined(ensemble):
    nets, train_sets = ensemble
    res = persistence_study(nets[:2], CountingFactory(train_sets), SETTINGS, n_boot=10,
                            n_perm=10, progress=False)  # fmt: skip
    for (name, r), land in res.landscapes.items():
        i = res.names.index(name)
        h0, h1 = res.pers[("h0", r)][i], res.pers[("h1", r)][i]
        essential = land.diagrams[0][np.isinf(land.diagrams[0][:, 1])]
        capped = h0 + float(np.sum(land.v_max - essential[:, 0]))
        assert res.pers[("h0_capped", r)][i] == pytest.approx(capped)
        assert res.pers[("h0_h1", r)][i] == pytest.approx(h0 + h1)
        assert res.pers[("h0_relative", r)][i] == pytest.approx(h0 / (land.v_max - land.v_min))
        assert res.pers[("range", r)][i] == pytest.approx(land.v_max - land.v_center)
        net, X, y = train_sets[name]
        with torch.no_grad():
            train_loss = float(F.cross_entropy(net(X), y))
        assert res.pers[("loss", r)][i] == pytest.approx(train_loss, rel=1e-5)


def test_single_basin_degeneracy_is_reported():
    """A convex loss (least squares on a linear model) restricted to a plane has one
    basin: every finite H0 diagram is empty and the report says so."""
    torch.manual_seed(0)
    X, y = torch.randn(40, 3), torch.randn(40, 1)
    nets = [StudyNetwork(f"lin{i}", nn.Linear(3, 1), gap=0.1 * i) for i in range(3)]

    def factory(model):
        return Engine(model, X, y, loss_fn=F.mse_loss)

    settings = StudySettings(radii=(0.1, 1.0), n_samples=121, sampler="plane", bias="normalize")
    res = persistence_study(nets, factory, settings, n_boot=20, n_perm=20, progress=False)
    for land in res.landscapes.values():
        assert np.isinf(land.diagrams[0][:, 1]).all() and len(land.diagrams[1]) == 0
    assert all(res.fits[("h0", r)].degenerate for r in settings.radii)
    notes = res.degeneracy()
    assert any("empty for every network" in n for n in notes)
    assert "empty for every network" in res.report()
    counts = {(c["radius"], c["dim"]): c for c in res.to_json()["classes"]}
    assert all(counts[(r, 0)]["essential"] == 1 and counts[(r, 0)]["finite"] == 0
               for r in settings.radii)  # fmt: skip
    assert "1 essential" in res.report()


def test_settings_are_validated():
    with pytest.raises(ValueError, match="radii"):
        StudySettings(radii=(0.1, -1.0))
    with pytest.raises(ValueError, match="sampler"):
        StudySettings(sampler="sphere")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        net = nn.Linear(2, 2)
        persistence_study([StudyNetwork("a", net, 0.0), StudyNetwork("a", net, 0.0)], Engine)


# -- plots ---------------------------------------------------------------------------------------
def test_plots_are_written_as_png(ensemble, tmp_path):
    nets, train_sets = ensemble
    res = persistence_study(nets, CountingFactory(train_sets), SETTINGS, n_boot=20, n_perm=20,
                            progress=False)  # fmt: skip
    figs = {
        "diagram.png": plot_diagrams(res.landscapes[("net0", 0.05)].diagrams, title="net0"),
        "scatter.png": plot_study(res, "h0_capped", 0.5),
        "best.png": plot_study(res, "h0"),
        "r2.png": plot_r2_vs_radius(res),
    }
    for name, fig in figs.items():
        assert isinstance(fig, Figure)
        fig.savefig(tmp_path / name)
        assert (tmp_path / name).read_bytes()[:8] == PNG
    # a percentile bootstrap interval that misses its estimate still draws (clipped bars)
    key = next(iter(res.fits))
    res.fits[key] = dataclasses.replace(res.fits[key], r2=0.9, r2_ci=(0.1, 0.5))
    plot_r2_vs_radius(res, path=tmp_path / "r2_outside.png")
    plot_diagrams([np.array([[0.0, np.inf]])], path=tmp_path / "sub" / "one.png")
    assert (tmp_path / "sub" / "one.png").read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="variant"):
        plot_study(res, "h2")
    with pytest.raises(ValueError, match="not studied"):
        plot_study(res, "h0", radius=0.123)
