"""The homotopy study end to end on a tiny ensemble: structure, figures, resumability."""

from __future__ import annotations

import json

import pytest

from adapters.runtime.store import Store
from adapters.studies.ensemble import ensemble_plan
from adapters.studies.homotopy_plots import plot_barrier_matrix, plot_dendrogram
from adapters.studies.homotopy_study import homotopy_study, spreads


def test_plan_varies_hyperparameters_and_spawns_from_shared_prefixes() -> None:
    plan = ensemble_plan(24, steps=400, seed=0)
    roots = [r for r in plan if r.parent is None]
    children = [r for r in plan if r.parent is not None]
    assert len(plan) == 24 and len(roots) == 6
    assert {r.spawn_step for r in children} == {0, 100, 200}
    assert all(r.steps + r.spawn_step == 400 for r in plan)
    for field in ("optimizer", "lr", "batch_size", "weight_decay", "seed"):
        assert len({getattr(r, field) for r in plan}) > 1, field
    with pytest.raises(ValueError, match="at least 2"):
        ensemble_plan(1)


def test_spreads_by_hand() -> None:
    s = spreads([0, 0, 1, 1, 2], [0.90, 0.92, 0.95, 0.96, 0.80])
    assert s["within_max"] == pytest.approx(0.02)
    assert s["within_mean"] == pytest.approx(0.015)
    assert s["between"] == pytest.approx(0.955 - 0.80)
    assert s["pair_within_mean"] == pytest.approx(0.015)
    assert spreads([0, 0], [0.9, 0.9])["between"] is None


def test_tiny_study_end_to_end_and_rerun_from_the_store(tmp_path) -> None:
    path = tmp_path / "study.sqlite"
    kwargs = dict(eps=0.1, steps=16, hidden=(8,), roots=2, seed=0, progress=False)
    result = homotopy_study(4, store=path, **kwargs)
    json.dumps(result)  # JSON-serializable
    assert result["paper"]["n_classes"] == 7
    assert len(result["networks"]) == 4
    for variant in ("plain", "aligned"):
        v = result[variant]
        assert len(v["labels"]) == 4 and v["n_classes"] == len(v["class_sizes"])
        assert v["partition_agrees_with_all_pairs"]
        assert len(v["barrier_matrix"]) == 4 and len(v["linkage"]) == 3
    assert result["aligned"]["n_classes"] <= result["plain"]["n_classes"]
    n_items = len(Store(path))
    again = homotopy_study(4, store=path, **kwargs)
    assert again["plain"]["evaluations"] == 0 and again["aligned"]["evaluations"] == 0
    assert again["plain"]["labels"] == result["plain"]["labels"]
    assert len(Store(path)) == n_items  # nothing retrained or recomputed
    for plot, name in ((plot_barrier_matrix, "bm.png"), (plot_dendrogram, "dg.png")):
        out = plot(result, tmp_path / "figs" / name)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
