"""``report.md``, the claims table and the figures of ``catcore reproduce``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = tuple[str, str, str, str]  # claim, measured, holds?, why it may differ


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _functor_rows(s: dict[str, Any]) -> list[Row]:
    rows = []
    for name, v in s["cases"].items():
        control = "control" in name
        holds = v["functorial"] != control
        rows.append((
            f"Thm 2.6: L preserves identity and composition ({name})",
            f"identity defect {v['identity_defect']:.2e}, composition defect "
            f"{v['composition_defect']:.2e}, batch-split defect {v['batch_defect']:.2e}; "
            f"functorial = {v['functorial']}" + _trajectory(v),
            ("yes" if holds else "no") + (" (fails as it must)" if control else ""),
            "train-mode BatchNorm is not a function of theta: the theorem's hypothesis"
            if control else "",
        ))  # fmt: skip
    return rows


def _trajectory(v: dict[str, Any]) -> str:
    """The lengths of the verified training trajectory (Def 8.1), when recorded."""
    t = v.get("trajectory_length")
    if not t:
        return ""
    mark = "" if t["fisher_converged"] else " (not converged)"
    return (f"; trajectory length: Fisher {t['fisher']:.3g}{mark}, "
            f"Euclidean {t['euclidean']:.3g}")  # fmt: skip


def _homotopy_rows(s: dict[str, Any]) -> list[Row]:
    paper, rows = s["paper"], []
    for variant in ("plain", "aligned"):
        if variant not in s:
            continue
        v, sp = s[variant], s[variant]["spreads"]
        label = "" if variant == "plain" else " up to permutation"
        n = s["settings"]["n_networks"]
        how = _decisions(v)
        rows += [
            (f"{paper['n_classes']} homotopy classes among {paper['n_networks']} MNIST networks"
             f"{label}", f"{_count(v['n_classes'], 'class', 'classes')} among {n} digits "
             f"networks (sizes "
             f"{v['class_sizes']}; {how})", "n/a (different ensemble)",
             "class count depends on eps, the ensemble and its spawning"),
            (f"within-class accuracy spread < 0.5%{label}",
             f"max {_pct(sp['within_max'])}, mean {_pct(sp['within_mean'])}",
             _yes(v["verdict"]["within_below_0.5%"]),
             "one digits test image is 0.22%: spreads are coarse"),
            (f"between-class accuracy spread > 3%{label}", _pct(sp["between"]),
             _yes(v["verdict"]["between_above_3%"]), ""),
        ]  # fmt: skip
    return rows


def _decisions(v: dict[str, Any]) -> str:
    """How the classes were decided, as the report states it."""
    if not v.get("certified"):
        return "sampled decisions, not certified"
    undecided = len(v.get("undecided", []))
    return "certified decisions" + (f", {undecided} pairs undecided" if undecided else "")


def _yes(x: bool | None) -> str:
    return "n/a" if x is None else ("yes" if x else "no")


def _transfer_rows(s: dict[str, Any]) -> list[Row]:
    paper, rows = s["paper"], []
    for enc, e in s["encoders"].items():
        for target, t in e["targets"].items():
            r, c = t["ratios"], t["conditions"]
            acc = r["pullback/finetune accuracy"]
            which = "pullback_cached" if "pullback_cached/finetune time" in r else "pullback"
            tm, (q1, q3) = r[f"{which}/finetune time"], r[f"{which}/finetune time iqr"]
            frac = c["pullback"]["fraction_trained"]
            holds = acc >= paper["accuracy_ratio"] and tm <= paper["time_ratio"]
            rows.append((
                f"pullback transfer: {100 * paper['accuracy_ratio']:.1f}% of fine-tuning accuracy "
                f"in {100 * paper['time_ratio']:.0f}% of its time, "
                f"{100 * paper['fraction_trained']:.1f}% of parameters ({enc}, {target})",
                f"{100 * acc:.1f}% of the accuracy in {100 * tm:.0f}% of the time "
                f"({_spread(c['finetune']['timings'], q1, q3)}), {100 * frac:.2f}% of parameters",
                "yes" if holds else "no",
                "time: frozen features computed once; small MLP encoders, so the head is a "
                "larger share of the parameters than on a ResNet-18",
            ))  # fmt: skip
    return rows


def _spread(n: int, q1: float, q3: float) -> str:
    """How a time ratio was measured: one timing, or the median of ``n`` with quartiles."""
    if n == 1:
        return "one timing, no spread"
    return f"median of {n} paired timings, quartiles {100 * q1:.0f}-{100 * q3:.0f}%"


def _best_fit(s: dict[str, Any], variant: str) -> dict[str, Any] | None:
    fits = [f for f in s["fits"] if f["variant"] == variant and f["r2"] == f["r2"]]
    return max(fits, key=lambda f: f["r2"]) if fits else None


def _persistence_rows(s: dict[str, Any]) -> list[Row]:
    paper, rows = s["paper"], []
    claim = (f"Gap = {paper['a']} * Pers + {paper['b']}, R^2 = {paper['r2']} "
             f"({paper['n']} {paper['setting']})")  # fmt: skip
    for variant in ("h0", "h0_relative", "loss"):
        f = _best_fit(s, variant)
        if f is None:
            rows.append((f"{claim} [{variant}]", "degenerate at every radius", "no",
                         "; ".join(s["degeneracy"])[:300]))  # fmt: skip
            continue
        measured = (f"{variant} at radius {f['radius']:g} (best of {len(s['settings']['radii'])}): "
                    f"Gap = {f['a']:.3g} * Pers + {f['b']:.3g}, R^2 = {f['r2']:.2f} "
                    f"[{f['r2_ci'][0]:.2f}, {f['r2_ci'][1]:.2f}], p = {f['p_value']:.3g}, "
                    f"n = {f['n']}")  # fmt: skip
        holds = f["r2"] >= 0.5 and f["p_value"] < 0.05 and (f["a"] < 0) == (paper["a"] < 0)
        why = {"h0": "digits MLPs, not CIFAR ResNet-18s; the paper gives no radius"
                      + _essential_note(s, f["radius"]),
               "h0_relative": "scale-free H0 (divided by the sampled range)",
               "loss": "baseline: the training loss alone, no topology"}[variant]  # fmt: skip
        rows.append((f"{claim} [{variant}]", measured, "yes" if holds else "no", why))
    return rows


def _essential_note(s: dict[str, Any], radius: float) -> str:
    """How many essential classes the totals leave out at ``radius`` (median per landscape)."""
    counts = [c for c in s.get("classes", []) if c["radius"] == radius]
    if not counts:
        return ""
    parts = ", ".join(f"H{c['dim']} {c['essential']:g} of {c['finite'] + c['essential']:g}"
                      for c in counts)  # fmt: skip
    return f"; essential classes left out of totals (median per landscape): {parts}"


def _limits_rows(s: dict[str, Any]) -> list[Row]:
    rows = []
    for name, v in s["variants"].items():
        t = v["trained"]
        rows.append((
            f"open question 1: does L preserve the multi-task limit? ({name})",
            f"{t['verdict']} after training, rank gap {t['rank_gap']} ({v['heads_read']})",
            "answered here", "a linearization at one parameter point, on "
            f"{_count(s['settings']['probe'], 'probe image', 'probe images')}",
        ))  # fmt: skip
    return rows


def _federated_rows(s: dict[str, Any]) -> list[Row]:
    last, central = s["rounds"][-1], s["centralized"][-1]
    defects = [r["defect"] for r in s["rounds"]]
    rho = s["defect_vs_drift_spearman"]
    c = s["settings"]
    return [(
        "Def 4.4: federated averaging as a colimit; does L preserve it?",
        f"every server model is the image of the mediating morphism out of the coproduct of "
        f"the clients' update lines (checked each round); representation defect "
        f"{min(defects):.2g}-{max(defects):.2g} over {len(defects)} rounds (0 would be "
        f"preserved; the linearization preserves it exactly), Spearman with client drift "
        f"{'n/a' if rho is None else f'{rho:.2f}'}; test accuracy {last['accuracy']:.3f} "
        f"federated vs {central['accuracy']:.3f} centralized after {last['round']} rounds",
        "answered here",
        f"{c['clients']} label-skewed clients ({c['classes_per_client']} labels each), "
        f"{c['local_steps']} local SGD steps per round",
    )]  # fmt: skip


CLAIMS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "functor": _functor_rows,
    "homotopy": _homotopy_rows,
    "persistence": _persistence_rows,
    "transfer": _transfer_rows,
    "limits": _limits_rows,
    "federated": _federated_rows,
}


def claims(results: dict[str, Any]) -> list[Row]:
    """The claims table: one row per claim of the paper, with our measurement."""
    rows: list[Row] = []
    for name, fn in CLAIMS.items():
        if name in results["studies"]:
            rows += fn(results["studies"][name])
    return rows


def figures(results: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Write every figure the studies allow; returns ``{title: path}``."""
    from adapters.studies.homotopy_plots import plot_barrier_matrix, plot_dendrogram
    from adapters.studies.transfer_study import plot_transfer_study

    s, out = results["studies"], {}
    if "homotopy" in s:
        h = s["homotopy"]
        out["barrier matrix"] = plot_barrier_matrix(h, folder / "barrier_matrix.png")
        out["class dendrogram"] = plot_dendrogram(h, folder / "dendrogram.png")
    if "persistence" in s:
        out.update(_persistence_figures(s["persistence"], folder))
    if "transfer" in s:
        out["transfer"] = plot_transfer_study(s["transfer"], folder / "transfer.png")
    if "federated" in s:
        from adapters.studies.federated_study import plot_federated

        out["federated averaging"] = plot_federated(s["federated"], folder / "federated.png")
    return out


def _persistence_figures(s: dict[str, Any], folder: Path) -> dict[str, Path]:
    from adapters.studies.persistence_plots import plot_diagrams, plot_r2_vs_radius, plot_study
    from adapters.studies.persistence_study import StudyResult

    result = StudyResult.from_json(s)
    out = {"gap vs persistence": folder / "gap_vs_persistence.png",
           "R^2 vs radius": folder / "r2_vs_radius.png"}  # fmt: skip
    plot_study(result, "h0", path=out["gap vs persistence"])
    plot_r2_vs_radius(result, path=out["R^2 vs radius"])
    radius = result.settings.radii[len(result.settings.radii) // 2]
    for tag, i in (
        ("smallest gap", int(result.gaps.argmin())),
        ("largest gap", int(result.gaps.argmax())),
    ):
        name = result.names[i]
        path = folder / f"diagram_{tag.replace(' ', '_')}.png"
        title = f"{name} ({tag} {result.gaps[i]:.3f}), radius {radius:g}"
        plot_diagrams(result.landscapes[(name, radius)].diagrams, title=title, path=path)
        out[f"persistence diagram, {tag}"] = path
    return out


def markdown(results: dict[str, Any], figs: dict[str, Path], out: Path) -> str:
    plan = results["plan"]
    lines = [
        "# catcore reproduce: report",
        "",
        f"Plan `{plan['name']}` (seed {results['seed']}), embedded digits data. "
        + provenance(results),
        "",
        "## Claims",
        "",
        headline(results).capitalize() + ".",
        "",
        "| paper's claim | our measurement | holds here? | why it may differ |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in claims(results)]
    lines += curved_section(results.get("studies", {}).get("homotopy", {}))
    lines += fisher_section(results.get("studies", {}).get("homotopy", {}))
    lines += ["", "## Figures", ""]
    for title, p in figs.items():
        image = f"![{title}]({p.relative_to(out).as_posix()})"
        lines += [image, "", f"*{title}.* {caption(title)}", ""]
    lines += ["", "## Settings", "", "```", *(f"{k}: {v}" for k, v in plan.items()), "```", ""]
    return "\n".join(lines)


def curved_section(h: dict[str, Any]) -> list[str]:
    """The Bezier-curve tests between representatives of different straight-line classes:
    a table, one row per pair (empty when the study fitted none)."""
    curved = h.get("curved")
    if not curved or not curved["pairs"]:
        return []
    eps = h["settings"]["eps"]
    lines = ["", "## Curved paths between classes", "",
             f"A quadratic Bezier curve is trained between the first members of two classes "
             f"that straight segments separate (eps = {eps:g}). Where its sampled barrier is "
             f"at most eps the curve joins them: those classes are one class of paths, and "
             f"only the straight segments kept them apart. {curved['connected_by_curve']} of "
             f"{curved['tested']} pairs joined.", "",
             "| networks | straight barrier | curved barrier | joined by the curve? |",
             "| --- | --- | --- | --- |"]  # fmt: skip
    for q in curved["pairs"]:
        bent = "not fitted" if q["curved"] is None else f"{q['curved']:.3g}"
        lines.append(f"| {q['i']}-{q['j']} | {q['linear']:.3g} ({q['linear_status']}) | "
                     f"{bent} | {_yes(q['homotopic'])} |")  # fmt: skip
    return lines


def fisher_section(h: dict[str, Any]) -> list[str]:
    """Fisher against Euclidean distance as predictors of the barriers (Def 8.1)."""
    f = h.get("fisher")
    if not f:
        return []

    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.2f}"

    sp, au = f["spearman"], f["auc_linked"]
    note = "" if f["all_converged"] else " (some lengths missed their tolerance)"
    return ["", "## Fisher distance between networks (Def 8.1)", "",
            f"Over {f['pairs']} pairs, the Fisher length of the straight segment (the metric "
            f"on {f['probe']} training inputs, relative tolerance {f['tol']:g}{note}) ranks "
            f"the loss barriers with Spearman rho = {num(sp['fisher'])}, the Euclidean "
            f"distance with rho = {num(sp['euclidean'])}. As a predictor of a link (barrier "
            f"at most eps; {f['linked_pairs']} pairs), the AUC is {num(au['fisher'])} for the "
            f"Fisher and {num(au['euclidean'])} for the Euclidean distance (1: every linked "
            "pair closer than every unlinked one)."]  # fmt: skip


#: What to look for in each figure, by the start of its title.
CAPTIONS: dict[str, str] = {
    "barrier matrix": "Loss barrier between every pair of networks (darker: lower). Blocks "
    "of low barriers along the diagonal, in class order, are the homotopy classes; the "
    "aligned panel shows the same pairs up to hidden-unit permutation.",
    "class dendrogram": "Single-linkage merge heights of the barriers: networks joined below "
    "the dashed eps line are in one class.",
    "gap vs persistence": "Each point is one network: total H0 persistence of its landscape "
    "against its generalization gap, with the least-squares line; the paper claims a "
    "negative slope.",
    "R^2 vs radius": "One panel per persistence summary (grey: the two baselines without "
    "topology): R^2 of its linear fit to the gap at each sampling radius, with its "
    "bootstrap interval; the dashed line is the paper's R^2. A summary supports "
    "the claim where its line reaches the dashed one and clears the baselines.",
    "persistence diagram": "Birth against death of each finite sublevel class: points far "
    "above the diagonal are lasting features. Essential classes (never dying) are drawn "
    "apart, in the strip above, at their birth values; the legend counts both kinds. On "
    "a kNN flag complex (samples in more than 3 dimensions, as the study's 8-D ones) the "
    "essential H1 classes are holes between cliques, not loops of the landscape "
    "(docs/persistence.md, Which complex).",
    "federated averaging": "Left: test accuracy of the server model per round (federated "
    "averaging over label-skewed clients) against centralized training with the same steps "
    "per round. Right: how far the averaged model's representation is from the weighted "
    "colimit of the clients' representations (0: the learning functor preserves the "
    "colimit), beside the client drift.",
    "transfer": "Each condition against fine-tuning on the same target (blue: training "
    "from scratch; green: pullback transfer): accuracy ratio, time ratio (median and "
    "quartiles of paired timings) and fraction of parameters trained; dashed lines are "
    "the paper's 97.8%, 25% and 0.5%. The claim holds where a green bar is above the "
    "first line and below the second.",
}


def caption(title: str) -> str:
    """The caption of the figure titled ``title``."""
    return next((text for start, text in CAPTIONS.items() if title.startswith(start)), "")


def tally(rows: list[Row]) -> dict[str, int]:
    """The claims table counted by kind: paper claims that hold, that do not and that
    cannot be tested here; open questions answered; controls that behave (fail as they
    must) out of all controls."""
    out = {"hold": 0, "do not hold": 0, "not testable here": 0, "questions answered": 0,
           "controls": 0, "controls behaving": 0}  # fmt: skip
    for _, _, verdict, _ in rows:
        if "fails as it must" in verdict:
            out["controls"] += 1
            out["controls behaving"] += verdict.startswith("yes")
        elif verdict.startswith("yes"):
            out["hold"] += 1
        elif verdict.startswith("no"):
            out["do not hold"] += 1
        elif verdict.startswith("answered"):
            out["questions answered"] += 1
        else:
            out["not testable here"] += 1
    return out


def provenance(results: dict[str, Any]) -> str:
    """How the results were built: this run's time, the compute time over every run that
    worked on them, and which studies were read back from the store."""
    b = results.get("bookkeeping", {})
    text = f"This run took {results['seconds']:.0f} s"
    if b.get("runs", 1) > 1 or b.get("reused"):
        text += (f"; the results took {b['seconds_total']:.0f} s of computation over "
                 f"{_count(b['runs'], 'run', 'runs')}")  # fmt: skip
    if b.get("reused"):
        text += f" (read back from the store: {', '.join(b['reused'])})"
    return text + "."


def headline(results: dict[str, Any]) -> str:
    """One sentence counting the claims table by kind (:func:`tally`)."""
    t = tally(claims(results))
    tested = t["hold"] + t["do not hold"]
    parts = [f"paper claims: {t['hold']} of {tested} testable here hold, "
             f"{t['not testable here']} not testable here"]  # fmt: skip
    if t["questions answered"]:
        parts.append(f"open questions answered: {t['questions answered']}")
    if t["controls"]:
        parts.append(f"controls behaving as they must: {t['controls behaving']} of "
                     f"{t['controls']}")  # fmt: skip
    return "; ".join(parts)


def summary(results: dict[str, Any], out: Path) -> str:
    return f"{headline(results)}. Report: {out / 'report.md'}, results: {out / 'results.json'}"
