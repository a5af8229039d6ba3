"""``results/summary.md`` and the table ``run_all.py`` prints: readable on GitHub and in a terminal.

Per (dataset, preset): the smoke-test warning for short presets, the runs table (mean +- sd over
seeds: reconstruction, KL, active latents, every score), an automatic check of the rate-distortion
trade-off, the paper's comparison table (ours beside published, never mixed), and the figures.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.io import atomic_write_text
from benchmark.results.columns import smoke_test_note
from benchmark.report.figures import REPRESENTATION_ORDER, comparison_table, groups, spread_text
from benchmark.report.results import score_columns

SUMMARY_MD = "summary.md"
MAIN_COLUMNS = ["recon_bce", "kl", "active_units"]
SHORT = {
    "recon_bce": "recon",
    "kl": "KL",
    "active_units": "active",
    "beta_vae_reference": "bVAE(ref)",
    "beta_vae_paper": "bVAE(paper)",
    "factor_vae": "FactorVAE",
    "mig": "MIG",
    "dci_disentanglement": "DCI-D",
    "dci_completeness": "DCI-C",
    "dci_informativeness": "DCI-I",
    "sap": "SAP",
    "modularity": "modul.",
    "explicitness": "explic.",
    "gaussian_total_correlation": "GaussTC",
    "wasserstein_correlation": "WassCorr",
    "mutual_info_score": "MI",
}


def _order_key(label: str, beta) -> tuple:
    if label in REPRESENTATION_ORDER:
        return (0, REPRESENTATION_ORDER.index(label), 0.0, label)
    return (1, 0, float(beta) if pd.notna(beta) else -1.0, label)


def runs_table(g: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd over seeds per (label) for the main columns and every score, ordered like the paper."""
    cols = [c for c in MAIN_COLUMNS if c in g.columns] + score_columns(g)
    rows = []
    for label, sub in g.groupby("label", sort=False):
        beta = sub["beta"].iloc[0] if "beta" in sub else np.nan
        r = {
            "label": label,
            "kind": sub["kind"].iloc[0],
            "beta": beta,
            "normalised_beta": sub["normalised_beta"].iloc[0] if "normalised_beta" in sub else np.nan,
            "seeds": int(sub["seed"].nunique()),
        }
        for c in cols:
            v = pd.to_numeric(sub[c], errors="coerce").dropna()
            r[c] = float(v.mean()) if len(v) else np.nan
            r[c + "_sd"] = float(v.std(ddof=1)) if len(v) > 1 else np.nan
        rows.append(r)
    t = pd.DataFrame(rows)
    if t.empty:
        return t
    t["_o"] = [_order_key(ln, b) for ln, b in zip(t["label"], t["beta"])]
    return t.sort_values("_o").drop(columns="_o").reset_index(drop=True)


def _fmt(v, sd=None, digits=3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    s = f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"
    if sd is not None and isinstance(sd, float) and np.isfinite(sd):
        s += f" ± {sd:.2g}"
    return s


def tradeoff_check(t: pd.DataFrame) -> list[str]:
    """Plain-language checks of the paper's rate-distortion trade-off on the trained models."""
    m = t[(t["kind"] == "model") & t["beta"].notna()].copy()
    if m.empty or "recon_bce" not in m or "kl" not in m:
        return []
    m["beta"] = m["beta"].astype(float)
    curve = m[m["beta"] > 0].sort_values("beta")
    out = []
    if len(curve) >= 2:
        rec, kl = curve["recon_bce"].to_numpy(), curve["kl"].to_numpy()
        out.append(
            f"reconstruction error rises with beta ({' < '.join(_fmt(x) for x in rec)}): "
            f"{'yes' if np.all(np.diff(rec) > 0) else 'NO'}"
        )
        out.append(
            f"KL falls with beta ({' > '.join(_fmt(x) for x in kl)}): {'yes' if np.all(np.diff(kl) < 0) else 'NO'}"
        )
        top = curve.iloc[-1]
        worst = m["recon_bce"].max()
        out.append(
            f"largest beta ({_fmt(top['beta'])}) has the worst reconstruction: "
            f"{'yes' if top['recon_bce'] >= worst else 'NO'}"
        )
        if "active_units" in m:
            fewest = m["active_units"].min()
            tied = (m["active_units"] == top["active_units"]).sum() > 1
            out.append(
                f"largest beta has the fewest active latents ({_fmt(top['active_units'])}): "
                f"{('yes, tied' if tied else 'yes') if top['active_units'] <= fewest else 'NO'}"
            )
    return out


def text_table(t: pd.DataFrame, max_scores: int = 6) -> str:
    """Fixed-width table for the terminal."""
    if t.empty:
        return "(no finished runs)"
    scores = [c for c in t.columns if c in SHORT and not c.endswith("_sd") and c not in MAIN_COLUMNS]
    scores = [c for c in scores if t[c].notna().any()][:max_scores]
    cols = [c for c in MAIN_COLUMNS if c in t.columns] + scores
    header = ["representation", "beta", "seeds"] + [SHORT[c] for c in cols]
    lines = []
    for r in t.itertuples(index=False):
        d = r._asdict()
        lines.append(
            [d["label"], _fmt(d["beta"]) if d["kind"] == "model" else "-", str(d["seeds"])]
            + [_fmt(d[c], digits=4) if c in ("recon_bce", "kl") else _fmt(d[c]) for c in cols]
        )
    widths = [max(len(h), *(len(ln[i]) for ln in lines)) for i, h in enumerate(header)]
    fmt = lambda row: "  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(row, widths)))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(ln) for ln in lines])


def markdown_table(t: pd.DataFrame) -> str:
    if t.empty:
        return "_no finished runs_\n"
    skip = {"seeds", "beta", "normalised_beta"}
    cols = [c for c in MAIN_COLUMNS if c in t.columns] + [
        c for c in score_columns(t) if c not in skip and not c.endswith("_sd") and t[c].notna().any()
    ]
    head = ["representation", "beta", "beta·M/N", "seeds"] + [SHORT.get(c, c) for c in cols]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in t.itertuples(index=False):
        d = r._asdict()
        cells = [
            d["label"],
            _fmt(d["beta"]) if d["kind"] == "model" else "-",
            _fmt(d["normalised_beta"]) if d["kind"] == "model" else "-",
            str(d["seeds"]),
        ]
        cells += [_fmt(d[c], d.get(c + "_sd")) for c in cols]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def comparison_markdown(g: pd.DataFrame, published: pd.DataFrame, dataset: str) -> str:
    tab = comparison_table(g, published, dataset)
    if tab.empty:
        return ""
    variants = [c for c in ("beta_vae_reference", "beta_vae_paper") if f"ours_{c}" in tab.columns]
    head = (
        ["representation"] + [f"ours: {v.split('_')[-1]} variant (%)" for v in variants] + ["published (%, recalled)"]
    )
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in tab.itertuples(index=False):
        d = r._asdict()
        cells = [d["representation"]] + [_fmt(d[f"ours_{v}"], d[f"ours_{v}_sd"]) for v in variants]
        cells.append(_fmt(d["published"], d["published_sd"]))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def preset_note(g: pd.DataFrame) -> str | None:
    """The smoke-test warning for a group of runs whose preset is a smoke test (``smoke_test`` column,
    recorded by the runner), with the steps they trained; None otherwise."""
    if "smoke_test" not in g:
        return None
    flagged = g[g["smoke_test"].astype(str).str.lower() == "true"]
    if flagged.empty:
        return None
    steps = flagged.loc[flagged["kind"] == "model", "steps"].dropna()
    return smoke_test_note(str(flagged["preset"].iloc[0]), int(float(steps.iloc[0])) if len(steps) else 0)


def adagrad_note(g: pd.DataFrame) -> str | None:
    """A line naming the runs whose paper-variant (Adagrad) beta-VAE fit did not converge, if any."""
    if "beta_vae_paper_converged" not in g or "beta_vae_paper" not in g:
        return None
    scored = g[g["beta_vae_paper"].notna() & g["beta_vae_paper_converged"].notna()]
    bad = scored[scored["beta_vae_paper_converged"].astype(str).str.lower() == "false"]
    if bad.empty:
        return None
    return (
        f"bVAE(paper): the Adagrad classifier did not converge for {len(bad)} of {len(scored)} runs "
        f"({', '.join(bad['run_id'].astype(str))}; results.csv `beta_vae_paper_converged`): those numbers "
        "are not the converged classifier's (its training accuracy is below that of the optimum of its loss); "
        "quote bVAE(ref) for them."
    )


def write_summary(
    results: pd.DataFrame,
    published: pd.DataFrame,
    figures: dict[str, list[Path]],
    results_dir: str | os.PathLike,
    path: str | os.PathLike | None = None,
) -> str:
    """Write ``summary.md`` (atomically) and return its text. Figure links are relative to it."""
    path = Path(path or Path(results_dir) / SUMMARY_MD)
    lines = [
        "# Results summary",
        "",
        "Generated by `python run_all.py` / `python -m benchmark figures` from `results.csv` "
        "(one row per finished run). Scores are means ± sd over seeds; our numbers and published "
        "numbers are shown side by side, never mixed.",
        "",
    ]

    def rel(p: Path) -> str:
        return os.path.relpath(p, path.parent).replace(os.sep, "/")

    for dataset, preset in groups(results):
        g = results[(results["dataset"] == dataset) & (results["preset"] == preset)]
        tag = f"{dataset}_{preset}"
        sources = ", ".join(sorted(g["data_source"].dropna().astype(str).unique())) if "data_source" in g else "?"
        lines += [f"## {dataset} ({sources}), preset `{preset}`", ""]
        note = preset_note(g)
        if note:
            lines += [f"> **Smoke test.** {note}", ""]
        dev = ", ".join(sorted(g["device"].dropna().astype(str).unique())) if "device" in g else "?"
        commits = (
            ", ".join(sorted(g["git_commit"].dropna().astype(str).str[:12].unique())) if "git_commit" in g else "?"
        )
        lines += [f"Runs: {len(g)} ({g['seed'].nunique()} seed(s)); device: {dev}; commit: {commits}.", ""]
        t = runs_table(g)
        lines += [
            f"### Runs ({spread_text(int(g['seed'].nunique()))})",
            "",
            "recon = Bernoulli NLL per image (nats), KL = KL(q(z|x)||p(z)) per image (nats), "
            "active = latents with KL > 0.01 nats; supervised scores in [0, 1], GaussTC and MI in nats.",
            "",
            markdown_table(t),
        ]
        unconverged = adagrad_note(g)
        if unconverged:
            lines += ["", f"> **Note.** {unconverged}", ""]
        checks = tradeoff_check(t)
        if checks:
            lines += ["### Rate-distortion trade-off (automatic check)", ""] + [f"- {c}" for c in checks] + [""]
        comp = comparison_markdown(g, published, dataset)
        if comp:
            lines += [
                "### The paper's comparison table (beta-VAE score, accuracy %)",
                "",
                "Published numbers: Higgins et al. 2017, Fig. 6 left / 'Table 1', recalled "
                "(see results/published.csv). "
                "The paper used its FC architecture, Adagrad and its own metric variant (4 factors, linear "
                "classifier); the `reference` variant is disentanglement_lib's "
                "(sklearn logistic regression, 5 factors).",
                "",
                comp,
            ]
        for key, title in (
            (f"comparison_{tag}", "Comparison with the paper"),
            (f"tradeoff_{tag}", "Trade-off vs beta"),
            (f"scores_vs_beta_{tag}", "Scores vs beta"),
            (f"scores_vs_normalised_beta_{tag}", "Scores vs normalised beta"),
            (f"traversals_{tag}", "Latent traversals (top latents by KL)"),
        ):
            png = [p for p in figures.get(key, []) if p.suffix == ".png"]
            if png:
                pdf = [p for p in figures.get(key, []) if p.suffix == ".pdf"]
                lines += [
                    f"### {title}",
                    "",
                    f"![{title}]({rel(png[0])})" + (f"  \n[PDF]({rel(pdf[0])})" if pdf else ""),
                    "",
                ]
        runs = [(k[4:], v) for k, v in figures.items() if k.startswith("run_") and k[4:] in set(g["run_id"])]
        if runs:
            lines += [
                "### Per-run figures",
                "",
                "| run | traversals | KL per latent | reconstructions |",
                "|---|---|---|---|",
            ]
            for rid, paths in runs:
                pngs = {p.stem.rsplit("_", 1)[-1]: p for p in paths if p.suffix == ".png"}
                cell = lambda k: f"[png]({rel(pngs[k])})" if k in pngs else "-"
                lines.append(f"| `{rid}` | {cell('traversal')} | {cell('kl')} | {cell('reconstructions')} |")
            lines.append("")
        missing = [rid for rid in g.loc[g["kind"] == "model", "run_id"] if f"run_{rid}" not in figures]
        if figures and missing:  # figures were drawn, but these runs' arrays are not here (git-ignored run folders)
            lines += [
                f"> **Per-run figures not drawn** for {len(missing)} run(s) ({', '.join(f'`{r}`' for r in missing)}): "
                "they are drawn from `runs/<run-id>/figures/arrays.npz`, which is not in this results folder "
                "(run folders are not committed); rebuild them where the runs were trained.",
                "",
            ]
    if results.empty:
        lines += ["_No finished runs yet: run `python run_all.py`._", ""]
    text = "\n".join(lines)
    atomic_write_text(path, text)
    return text


def print_summary(results: pd.DataFrame, dataset: str | None = None, preset: str | None = None) -> str:
    """The terminal summary for one (dataset, preset) or all groups; returned as text."""
    out = []
    for ds, pr in groups(results):
        if (dataset and ds != dataset) or (preset and pr != preset):
            continue
        g = results[(results["dataset"] == ds) & (results["preset"] == pr)]
        t = runs_table(g)
        out.append(f"\n== {ds}, preset {pr}: mean over seeds ==")
        out.append(text_table(t))
        out += ["  " + c for c in tradeoff_check(t)]
        unconverged = adagrad_note(g)
        if unconverged:
            out.append("NOTE: " + unconverged)
        note = preset_note(g)
        if note:
            out.append("NOTE: " + note)
    return "\n".join(out)
