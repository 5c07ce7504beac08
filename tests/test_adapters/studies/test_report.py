"""The report of ``catcore reproduce`` on hand-written results: the claims count by kind,
the curved-path table, how the results were built, and the transfer timing summary."""

from __future__ import annotations

import numpy as np
import pytest

from adapters.studies.reproduce import report
from adapters.studies.transfer_study import _quartiles, _ratios, _summary


def test_tally_counts_claims_questions_and_controls_apart():
    rows = [("a", "", "yes", ""), ("b", "", "no", ""), ("c", "", "no", ""),
            ("d", "", "n/a (different ensemble)", ""), ("e", "", "answered here", ""),
            ("f", "", "yes (fails as it must)", ""),
            ("g", "", "no (fails as it must)", "")]  # fmt: skip
    assert report.tally(rows) == {"hold": 1, "do not hold": 2, "not testable here": 1,
                                  "questions answered": 1, "controls": 2,
                                  "controls behaving": 1}  # fmt: skip


def test_curved_section_lists_every_pair():
    h = {"settings": {"eps": 0.1}, "curved": {"connected_by_curve": 1, "tested": 2, "pairs": [
        {"i": 0, "j": 3, "linear": 0.52, "linear_status": "above", "curved": 0.004,
         "homotopic": True},
        {"i": 0, "j": 5, "linear": 0.61, "linear_status": "above", "curved": None,
         "homotopic": False}]}}  # fmt: skip
    text = "\n".join(report.curved_section(h))
    assert "1 of 2 pairs joined" in text
    assert "| 0-3 | 0.52 (above) | 0.004 | yes |" in text
    assert "| 0-5 | 0.61 (above) | not fitted | no |" in text
    assert report.curved_section({"settings": {"eps": 0.1}}) == []


def test_provenance_says_which_runs_and_what_was_reused():
    one = {"seconds": 12.4, "bookkeeping": {"runs": 1, "reused": [], "seconds_total": 12.4}}
    assert report.provenance(one) == "This run took 12 s."
    two = {"seconds": 3.0, "bookkeeping": {"runs": 2, "reused": ["laws"], "seconds_total": 40}}
    assert report.provenance(two) == ("This run took 3 s; the results took 40 s of computation "
                                      "over 2 runs (read back from the store: laws).")  # fmt: skip


def test_quartiles_match_numpy():
    rng = np.random.default_rng(0)
    for n in (2, 3, 7, 15):
        x = rng.random(n).tolist()
        assert _quartiles(x) == pytest.approx(np.percentile(x, [25, 50, 75]).tolist())
    assert _quartiles([0.3]) == [0.3, 0.3, 0.3]


def test_time_ratios_pair_timings_of_the_same_seed_and_repeat():
    def run(seed, acc, secs):
        return {"seed": seed, "accuracy": acc, "fraction_trained": 1.0, "seconds": secs,
                "cpu_seconds": secs}  # fmt: skip

    ft = _summary([run(0, 0.9, [1.0, 2.0]), run(1, 1.0, [4.0, 8.0])])
    pb = _summary([run(0, 0.9, [0.5, 0.5]), run(1, 0.9, [1.0, 1.0])])
    assert ft["timings"] == 4 and ft["seconds_median"] == 3.0
    r = _ratios({"finetune": ft, "pullback": pb})
    # paired ratios 0.5, 0.25, 0.25, 0.125: median 0.25, quartiles by linear interpolation
    assert r["pullback/finetune time"] == 0.25
    assert r["pullback/finetune time iqr"] == pytest.approx([0.21875, 0.3125])
    assert r["pullback/finetune accuracy"] == pytest.approx(0.9 / 0.95)
