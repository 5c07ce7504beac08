"""``catcore limits`` on users' multi-task models: the Gaussian sketch against the dense
Jacobian at equal resolution (same model, probe and tolerance: time and peak memory as
ratios, the same answer asserted), then trunks of about a million parameters, where the
dense Jacobian would not fit (its size is printed beside the sketch's peak memory).

Run: ``python -m pytest tests/benchmarks/bench_limits.py --run-benchmarks -s -q`` (about
6 minutes on 2 cores). Each command runs in a fresh process (``measure.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from measure import measured

Z = str(Path(__file__).resolve().parent / "zoo_factories.py")


def _limits(model: str, probe: int, method: str) -> dict:
    return measured("limits", "--model", f"{Z}:{model}", "--probe", str(probe),
                    "--linearization", method)  # fmt: skip


@pytest.mark.benchmark
def test_sketch_against_dense_at_equal_resolution() -> None:
    dense, sketch = (_limits("limits_mlp", 16, m) for m in ("dense", "sketch"))
    same = ("dims", "rank_gap", "image_of_limit", "limit_of_images")
    assert [dense[k] for k in same] == [sketch[k] for k in same]
    assert sketch["certain"]
    n = sum(dense["parameters"].values())
    print(f"\nlimits_mlp ({n:,} parameters, probe 16): dims {dense['dims']}, "
          f"verdict {dense['verdict']} (both)")  # fmt: skip
    print(f"dense  {dense['seconds']:7.1f} s  peak {dense['peak_mb']:7.0f} MB")
    print(f"sketch {sketch['seconds']:7.1f} s  peak {sketch['peak_mb']:7.0f} MB  "
          f"(distortion bound {sketch['linearization']['distortion']:.1f})")
    print(f"sketch / dense: time {sketch['seconds'] / dense['seconds']:.2f}x, "
          f"peak memory {sketch['peak_mb'] / dense['peak_mb']:.2f}x")


@pytest.mark.benchmark
@pytest.mark.parametrize("model, probe", [("limits_vit", 8), ("limits_mlp_1m", 32)])
def test_a_million_parameter_trunk(model: str, probe: int) -> None:
    r = _limits(model, probe, "auto")
    assert r["linearization"]["method"] == "sketch" and r["certain"]
    n = sum(r["parameters"].values())
    dense_gb = r["linearization"]["readout_entries"] * n * 8 / 2**30
    print(f"\n{model} ({r['parameters']['trunk']:,} trunk parameters, probe {probe}): "
          f"{r['verdict']}, gap {r['rank_gap']}, dims {r['dims']}; sketch "
          f"{r['seconds']:.0f} s, peak {r['peak_mb']:.0f} MB, distortion bound "
          f"{r['linearization']['distortion']:.1f}; the dense Jacobian alone would be "
          f"{dense_gb:.1f} GB")  # fmt: skip
