"""Figures from results files alone (``python -m benchmark figures`` rebuilds them without training).

Sweep-level figures, from ``results.csv`` and ``published.csv`` (PNG + PDF in ``results/figures/``):

* ``comparison_<dataset>_<preset>``: the beta-VAE paper's score table (Fig. 6 left / "Table 1"):
  ground truth, raw pixels, PCA, ICA, untrained VAE, AE, VAE, beta-VAE -- ours (mean +- sd over
  seeds, each metric variant) beside the published numbers, never merged with them;
* ``scores_vs_beta_<dataset>_<preset>`` and ``scores_vs_normalised_beta_...``: every
  disentanglement score against beta and against beta*M/N (log axis ticked at the betas run), scores
  in [0, 1] on a fixed [0, 1] axis, unbounded ones (nats) on a fitted axis labelled so; the sd over
  seeds as error bars when there is more than one seed;
* ``tradeoff_<dataset>_<preset>``: reconstruction error, KL and active latents against beta.

Every figure is drawn in one fixed style and saved without dates or versions
(:mod:`benchmark.report.plotstyle`): the same results files give byte-identical PNGs.

Per-run figures, re-plotted from the arrays each trained run saved (``runs/<id>/figures/arrays.npz``;
the model is not needed): latent traversals (rows = latents sorted by KL, +-3 sd around a seed
image), per-latent KL bars, reconstructions beside inputs; and per dataset a side-by-side
traversal comparison of the trained models (for 3D faces / chairs: the paper's Figs. 2-3 layout).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.plotstyle import FIG_FORMATS, pyplot, save, styled
from benchmark.report.results import score_columns
from benchmark.results.columns import column_label, fmt_value, in_unit_interval

COMPARISON_VARIANTS = ("beta_vae_reference", "beta_vae_paper")  # the paper's table: both variants of its score
REPRESENTATION_ORDER = ["ground truth", "raw pixels", "PCA", "ICA", "untrained VAE", "AE"]
TRADEOFF_COLUMNS = ("recon_bce", "kl", "active_units")
AE_LINE = "AE (beta = 0, no KL term)"
X_LABELS = {"beta": "beta", "normalised_beta": "normalised beta = beta*M/N"}


def groups(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(dataset, preset) pairs present in a results table, in a stable order."""
    if df.empty:
        return []
    order = {"paper": 0, "quick": 1, "paper_fc": 2, "tiny": 3}  # the reference protocol first, then the main job
    pairs = [tuple(x) for x in df[["dataset", "preset"]].drop_duplicates().values]
    return sorted(pairs, key=lambda p: (p[0], order.get(p[1], 9), p[1]))


def _model_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Trained models with a beta (AE counts as beta = 0, the VAE as 1)."""
    m = df[(df["kind"] == "model") & df["beta"].notna()].copy()
    m["beta"] = m["beta"].astype(float)
    # beta = 1 is the VAE: one curve with the beta-VAEs
    m["family"] = m["model"].map({"vae": "VAE / beta-VAE", "beta_vae": "VAE / beta-VAE"}).fillna(m["model"])
    return m


def spread_text(num_seeds: int) -> str:
    """What a figure's numbers are: the sd is named only when there is one (more than one seed)."""
    return f"mean ± sd over {num_seeds} seeds" if num_seeds > 1 else f"{num_seeds} seed"


def comparison_table(df: pd.DataFrame, published: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The paper's comparison table: one row per representation, ours per variant beside published.

    Returns columns: representation, ours_<variant> (mean), ours_<variant>_sd, n, published, published_sd.
    Ours in percent accuracy to match the paper.
    """
    rows = []
    variants = [c for c in COMPARISON_VARIANTS if c in df.columns and df[c].notna().any()]  # a preset may skip one
    trained = (
        df[df["kind"] == "model"].assign(_b=pd.to_numeric(df["beta"], errors="coerce")).sort_values(["_b", "label"])
    )
    labels = list(
        dict.fromkeys(
            REPRESENTATION_ORDER + list(trained["label"].dropna().unique()) + list(df["label"].dropna().unique())
        )
    )
    pub = published[(published["dataset"] == dataset) & (published["metric"] == "beta_vae_paper")]
    pub_by_rep = {r.representation: r for r in pub.itertuples()}
    for label in labels:
        g = df[df["label"] == label]
        pr = pub_by_rep.get(label)
        if g.empty and pr is None:
            continue
        row = {"representation": label, "n": int(len(g))}
        for v in variants:
            vals = pd.to_numeric(g[v], errors="coerce").dropna() * 100.0
            row[f"ours_{v}"] = float(vals.mean()) if len(vals) else np.nan
            row[f"ours_{v}_sd"] = float(vals.std(ddof=1)) if len(vals) > 1 else np.nan
        row["published"] = float(pr.value) if pr is not None else np.nan
        row["published_sd"] = float(pr.std) if pr is not None and pd.notna(pr.std) else np.nan
        rows.append(row)
    # published-only representations (DC-IGN, InfoGAN) go last
    have = {r["representation"] for r in rows}
    for rep, pr in pub_by_rep.items():
        if rep not in have:
            rows.append(
                {
                    "representation": rep,
                    "n": 0,
                    **{f"ours_{v}": np.nan for v in variants},
                    **{f"ours_{v}_sd": np.nan for v in variants},
                    "published": float(pr.value),
                    "published_sd": float(pr.std) if pd.notna(pr.std) else np.nan,
                }
            )
    return pd.DataFrame(rows)


# ours beside the published numbers, each source with a fixed colour whatever the others present
COMPARISON_SOURCES = (
    ("ours_beta_vae_reference", "ours: reference variant", 0),
    ("ours_beta_vae_paper", "ours: paper variant", 1),
    ("published", "published (recalled), ± its sd", 2),
)


@styled
def plot_comparison(table: pd.DataFrame, out_dir: Path, stem: str, title: str) -> list[Path]:
    """The comparison figure (:func:`comparison_figure`) saved as ``out_dir/stem.png`` and ``.pdf``."""
    return save(comparison_figure(table, title), out_dir, stem)


@styled
def comparison_figure(table: pd.DataFrame, title: str):
    """Bars of the comparison table: ours (each variant) beside published; the legend right of the axes.

    Error bars only where a number has an sd: ours over more than one seed, published where the paper gave one.
    """
    plt = pyplot()
    reps = list(dict.fromkeys(table["representation"])) if not table.empty else []
    seeds = int(table["n"].max()) if reps else 0
    sources = [
        (col, name if col == "published" else f"{name} ({spread_text(seeds)})", colour)
        for col, name, colour in COMPARISON_SOURCES
        if col in table.columns and table[col].notna().any()
    ]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(reps) + 2), 3.8), layout="constrained")
    width = 0.8 / max(1, len(sources))
    rows = table.drop_duplicates("representation").set_index("representation").reindex(reps) if reps else table
    for i, (col, name, colour) in enumerate(sources):
        x = np.arange(len(reps)) + (i - (len(sources) - 1) / 2) * width
        y = rows[col].to_numpy(float)
        ax.bar(
            x, y, width, label=name, color=f"C{colour}", hatch="//" if col == "published" else None, edgecolor="white"
        )
        sd = rows[f"{col}_sd"].to_numpy(float) if f"{col}_sd" in rows.columns else np.full(len(reps), np.nan)
        has = np.isfinite(sd) & np.isfinite(y)
        if has.any():
            ax.errorbar(x[has], y[has], yerr=sd[has], fmt="none", ecolor="black", elinewidth=1, capsize=2)
    if reps:
        ax.set_xticks(np.arange(len(reps)), reps, rotation=30, ha="right")
    ax.set_ylabel("beta-VAE score (accuracy %)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    if sources:  # outside the axes: it covers no bar
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=7, frameon=True)
    return fig


def mean_sd(rows: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per value of ``x`` (sorted): mean of ``y``, its sd over seeds (NaN from one seed) and the count."""
    by = rows[[x, y]].dropna().groupby(x)[y]
    return pd.DataFrame({"mean": by.mean(), "sd": by.std(ddof=1), "n": by.size()}).sort_index()


def tick_text(x: str, value: float) -> str:
    """A tick label on a beta axis: the beta itself (4, 0.5), a normalised beta to 3 digits."""
    return fmt_value(value) if x == "beta" else f"{value:.3g}"


def set_log_axis_at(ax, x: str, values) -> None:
    """Log ``x`` axis whose ticks are exactly ``values`` (the betas run), labelled with them (not 10^k)."""
    values = sorted(float(v) for v in values)
    ax.set_xscale("log")
    crowded = len(values) > 5 or x != "beta"
    ax.set_xticks(
        values, [tick_text(x, v) for v in values], rotation=45 if crowded else 0, ha="right" if crowded else "center"
    )
    ax.set_xticks([], minor=True)
    ax.set_xlim(values[0] / 1.5, values[-1] * 1.5)
    ax.set_xlabel(X_LABELS.get(x, x))


def set_value_axis(ax, column: str) -> None:
    """A score in [0, 1] on a fixed [0, 1] axis; anything unbounded autoscaled and labelled so."""
    if in_unit_interval(column):
        ax.set_ylim(0, 1)
        ax.set_ylabel("score (axis fixed at 0-1)", fontsize=7)
    else:
        ax.set_ylabel("unbounded: axis fitted to data", fontsize=7)


@styled
def against_beta_figure(df: pd.DataFrame, columns: list[str], x: str, title: str, max_cols: int = 4):
    """One panel per column: its mean (sd over seeds as error bars, if several) against ``x`` on a log axis.

    Parameters
    ----------
    df : results rows of one (dataset, preset).
    columns : results.csv columns to plot, one panel each.
    x : ``beta`` or ``normalised_beta``; the AE (beta = 0) is a dashed horizontal line.
    title : the figure's title; what the numbers are (``1 seed``, ``mean ± sd over 3 seeds``) is appended.
    max_cols : panels per row.

    Returns
    -------
    The matplotlib figure.
    """
    plt = pyplot()
    m = _model_rows(df)
    ncol = min(max_cols, max(1, len(columns)))
    nrow = max(1, -(-len(columns) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.8 * nrow + 0.5), squeeze=False, layout="constrained")
    ae = m[m["model"] == "ae"]
    curve = m[(m["model"] != "ae") & (m[x].astype(float) > 0)]
    families = list(dict.fromkeys(curve.sort_values([x, "family"], kind="stable")["family"]))
    for ax, c in zip(axes.flat, columns):
        bounded = in_unit_interval(c)
        for i, family in enumerate(families):
            stats = mean_sd(curve[curve["family"] == family], x, c)
            if not stats.empty:
                ax.errorbar(
                    stats.index,
                    stats["mean"],
                    yerr=stats["sd"] if stats["sd"].notna().any() else None,
                    marker="o",
                    ms=4,
                    lw=1.2,
                    capsize=2.5,
                    color=f"C{i}",
                    label=family,
                    clip_on=not bounded,
                )
        if not ae.empty and ae[c].notna().any():
            ax.axhline(ae[c].mean(), color="grey", ls="--", lw=1, label=AE_LINE)
        if not curve.empty:
            set_log_axis_at(ax, x, curve[x].unique())
        set_value_axis(ax, c)
        ax.set_title(textwrap.fill(column_label(c), 48), fontsize=8)
    for ax in list(axes.flat)[len(columns) :]:
        ax.axis("off")
    legend = {}
    for ax in axes.flat:  # one legend for the figure, below the panels: it covers no point
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    if AE_LINE in legend:  # the curves first, the AE reference line last
        legend[AE_LINE] = legend.pop(AE_LINE)
    if legend:
        fig.legend(list(legend.values()), list(legend.keys()), loc="outside lower center", ncol=len(legend), fontsize=7)
    seeds = int(m["seed"].nunique()) if not m.empty else 0
    fig.suptitle(f"{title} ({spread_text(seeds)})", fontsize=9)
    return fig


@styled
def plot_against_beta(
    df: pd.DataFrame, columns: list[str], x: str, out_dir: Path, stem: str, title: str, max_cols: int = 4
) -> list[Path]:
    """:func:`against_beta_figure` saved as ``out_dir/stem.png`` and ``.pdf``; returns the paths."""
    return save(against_beta_figure(df, columns, x, title, max_cols), out_dir, stem)


def plot_scores_vs(df: pd.DataFrame, x: str, out_dir: Path, stem: str, title: str) -> list[Path]:
    """Every disentanglement score against ``x`` (beta or normalised_beta): scores in [0, 1] on a fixed axis."""
    m = _model_rows(df)
    scores = [c for c in score_columns(df) if m[c].notna().any()] if not m.empty else []
    return plot_against_beta(df, scores, x, out_dir, stem, title)


def plot_tradeoff(df: pd.DataFrame, out_dir: Path, stem: str, title: str) -> list[Path]:
    """Reconstruction error, KL and active latents against beta (the rate-distortion trade-off)."""
    m = _model_rows(df)
    cols = [c for c in TRADEOFF_COLUMNS if c in m.columns and m[c].notna().any()]
    return plot_against_beta(df, cols, "beta", out_dir, stem, title, max_cols=3)


# ------------------------------------------------------------------------------------------------
# per-run figures from saved arrays


def load_run_arrays(path: str | os.PathLike) -> dict | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError):
        return None


def _img(a: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> something imshow takes."""
    a = np.clip(np.asarray(a, dtype=np.float32), 0, 1)
    return a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))


def montage(tiles: np.ndarray, pad: int = 2) -> np.ndarray:
    """(rows, cols, C, H, W) images in [0, 1] -> one (H', W'[, 3]) image with white gaps (one imshow is fast)."""
    tiles = np.clip(np.asarray(tiles, dtype=np.float32), 0, 1)
    r, c, ch, h, w = tiles.shape
    out = np.ones((ch, r * (h + pad) - pad, c * (w + pad) - pad), np.float32)
    for i in range(r):
        for j in range(c):
            out[:, i * (h + pad) : i * (h + pad) + h, j * (w + pad) : j * (w + pad) + w] = tiles[i, j]
    return out[0] if ch == 1 else np.transpose(out, (1, 2, 0))


def traversal_range_text(arrays: list[dict]) -> str:
    """What a traversal's columns are, from the saved arrays (``values`` in sd units, ``rank_by``).

    A VAE's latent moves in units of the prior's sd (1); a deterministic AE's, of its code's empirical sd
    (its arrays rank latents by code variance, ``rank_by = 'var'``).
    """
    steps = arrays[0]["traversal"].shape[1]
    values = np.asarray(arrays[0].get("values", np.linspace(-3, 3, steps)), dtype=float)
    deterministic = [str(a.get("rank_by", "KL")) == "var" for a in arrays]
    sd = (
        "the code's sd over images"
        if all(deterministic)
        else "1, the prior's; the AE: its code's sd over images"
        if any(deterministic)
        else "1, the prior's"
    )
    return f"z_i from {values[0]:+g} to {values[-1]:+g} sd around a seed image's code, {steps} steps (sd = {sd})"


@styled
def plot_traversal(arr: dict, out_dir: Path, stem: str, title: str, max_rows: int | None = None) -> list[Path]:
    """Rows = latents sorted by KL (largest first), columns = the saved ``values`` (sd units, -3 to +3)."""
    plt = pyplot()
    trav = arr["traversal"]  # (L, S, C, H, W), rows already sorted by KL
    kl = arr.get("kl_sorted", np.zeros(trav.shape[0]))
    dims = arr.get("dims_sorted", np.arange(trav.shape[0]))
    rows = trav.shape[0] if max_rows is None else min(max_rows, trav.shape[0])
    steps, h = trav.shape[1], trav.shape[3]
    rank_by = str(arr.get("rank_by", "KL"))
    vals = arr.get("values", np.linspace(-3, 3, steps))
    fig, ax = plt.subplots(figsize=(0.7 * steps + 1.3, 0.7 * rows + 0.9))
    ax.imshow(montage(trav[:rows]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(
        [(h + 2) * i + h / 2 for i in range(rows)],
        [f"z{int(dims[i])}  {rank_by} {float(kl[i]):.2f}" for i in range(rows)],
        fontsize=6,
    )
    ax.set_xticks([(h + 2) * j + h / 2 for j in range(steps)], [f"{float(v):+.1f}" for v in vals], fontsize=6)
    ax.set_xlabel(textwrap.fill(f"columns: {traversal_range_text([arr])}", 0.7 * steps * 15 + 20), fontsize=6)
    ax.grid(False)
    ax.set_title(title, fontsize=8)
    return save(fig, out_dir, stem)


@styled
def plot_kl_bars(arr: dict, out_dir: Path, stem: str, title: str) -> list[Path]:
    """KL of each latent (bars; a deterministic AE's arrays hold its code variance) and the active-unit threshold."""
    plt = pyplot()
    kl = np.asarray(arr["kl_per_dim"], dtype=float)
    fig, ax = plt.subplots(figsize=(max(3, 0.35 * len(kl) + 1), 2.4))
    ax.bar([f"z{i}" for i in range(len(kl))], kl, color="C0")
    ax.axhline(0.01, color="grey", lw=0.8, ls=":", label="active-unit threshold 0.01")
    ax.set_ylabel("code variance per latent" if str(arr.get("rank_by", "KL")) == "var" else "KL per latent (nats)")
    ax.tick_params(axis="x", labelsize=6, rotation=90)
    ax.legend(fontsize=6, loc="lower left", bbox_to_anchor=(0.0, 1.0), borderaxespad=0.2, frameon=False)
    ax.set_title(title, fontsize=8, pad=14)
    return save(fig, out_dir, stem)


@styled
def plot_reconstructions(arr: dict, out_dir: Path, stem: str, title: str) -> list[Path]:
    """Inputs (top row) above their reconstructions (decoded means)."""
    plt = pyplot()
    x, r = np.asarray(arr["inputs"]), np.asarray(arr["reconstructions"])
    n, h = x.shape[0], x.shape[2]
    fig, ax = plt.subplots(figsize=(0.7 * n + 1.0, 1.9))
    ax.imshow(montage(np.stack([x, r])), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([h / 2, h + 2 + h / 2], ["input", "recon."], fontsize=7)
    ax.set_xticks([])
    ax.grid(False)
    ax.set_title(title, fontsize=8)
    return save(fig, out_dir, stem)


@styled
def plot_traversal_comparison(
    items: list[tuple[str, dict]], out_dir: Path, stem: str, title: str, top: int = 5
) -> list[Path]:
    """Side by side traversals of the top-``top`` latents (by KL) of several models (paper Figs. 2-3 layout)."""
    plt = pyplot()
    if not items:
        return []
    steps = items[0][1]["traversal"].shape[1]
    rows = min(top, max(a["traversal"].shape[0] for _, a in items))
    fig, axes = plt.subplots(
        rows, len(items), figsize=(2.2 * len(items) * steps / 7 + 0.5, 0.4 * rows * 1.4 + 0.8), squeeze=False
    )
    for c, (name, a) in enumerate(items):
        for r in range(rows):
            ax = axes[r, c]
            ax.set_xticks([]), ax.set_yticks([])
            if r < a["traversal"].shape[0]:
                strip = np.concatenate([_img(a["traversal"][r, j]) for j in range(steps)], axis=1)
                ax.imshow(strip, cmap="gray", vmin=0, vmax=1, interpolation="nearest", aspect="equal")
                ax.set_ylabel(f"z{int(a['dims_sorted'][r])}", fontsize=6)
            if r == 0:
                ax.set_title(name, fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.supxlabel(f"columns: {traversal_range_text([a for _, a in items])}", fontsize=7)
    fig.tight_layout()
    return save(fig, out_dir, stem)


def run_figure_stems(run_id: str) -> dict[str, str]:
    return {k: f"{run_id}_{k}" for k in ("traversal", "kl", "reconstructions")}


def plot_run(arrays_path: str | os.PathLike, out_dir: Path, run_id: str, title: str) -> list[Path]:
    """All per-run figures of one trained run from its saved arrays (nothing if absent)."""
    arr = load_run_arrays(arrays_path)
    if arr is None:
        return []
    stems = run_figure_stems(run_id)
    rank_by = str(arr.get("rank_by", "KL")).replace("var", "code variance")
    paths = plot_traversal(arr, out_dir, stems["traversal"], f"{title}: latent traversals, rows by {rank_by}")
    per_latent = "code variance" if rank_by == "code variance" else "KL"
    paths += plot_kl_bars(arr, out_dir, stems["kl"], f"{title}: {per_latent} per latent")
    paths += plot_reconstructions(arr, out_dir, stems["reconstructions"], f"{title}: inputs (top) and reconstructions")
    return paths


def _run_figure_names(run_id: str) -> list[str]:
    return [f"{stem}.{fmt}" for stem in run_figure_stems(run_id).values() for fmt in FIG_FORMATS]


def copy_run_figures(src: Path, dst: Path, run_id: str) -> list[Path]:
    """Copy a run's saved per-run figures (all of them, PNG and PDF) into ``dst``; [] if any is missing."""
    from benchmark.io import atomic_write_bytes

    names = _run_figure_names(run_id)
    if not all((src / n).is_file() for n in names):
        return []
    out = []
    for n in names:
        if not (dst / n).is_file() or (dst / n).stat().st_mtime < (src / n).stat().st_mtime:
            atomic_write_bytes(dst / n, (src / n).read_bytes())
        out.append(dst / n)
    return out


def existing_figures(folder: Path, names: list[str]) -> list[Path]:
    """``folder/<name>`` for every name if all exist, else []: figures drawn earlier, kept as they are."""
    paths = [folder / n for n in names]
    return paths if all(p.is_file() for p in paths) else []


def build_all(
    results: pd.DataFrame,
    published: pd.DataFrame,
    results_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    run_figures: bool = True,
    reuse_run_images: bool = True,
) -> dict[str, list[Path]]:
    """Every figure that results files allow; returns ``{name: [paths]}`` for summary.md.

    Per-run figures: the images each run saved in ``runs/<id>/figures/`` are copied
    (``reuse_run_images``), else re-plotted from the run's ``arrays.npz``. Without either (a fresh
    checkout: run folders are git-ignored) the figures already in ``out_dir`` for that run id are
    kept and listed, and so is the traversal comparison when every run it shows is kept that way;
    runs with none at all are left out (summary.md says so).
    """
    from benchmark.io import check_plain_name
    from benchmark.results.layout import RUNS

    out = Path(out_dir)
    made: dict[str, list[Path]] = {}
    for c in ("run_id", "dataset", "preset"):  # joined into paths below: never '..' or '/'
        for v in results[c].dropna().astype(str) if c in results.columns else ():
            check_plain_name(v, c, "results table")
    for dataset, preset in groups(results):
        g = results[(results["dataset"] == dataset) & (results["preset"] == preset)]
        tag = f"{dataset}_{preset}"
        if g["label"].notna().any() and any(c in g.columns and g[c].notna().any() for c in COMPARISON_VARIANTS):
            tab = comparison_table(g, published, dataset)
            made[f"comparison_{tag}"] = plot_comparison(
                tab, out, f"comparison_{tag}", f"beta-VAE score on {dataset} ({preset} preset): ours vs published"
            )
        if not _model_rows(g).empty:
            made[f"scores_vs_beta_{tag}"] = plot_scores_vs(
                g, "beta", out, f"scores_vs_beta_{tag}", f"disentanglement vs beta, {dataset}, {preset} preset"
            )
            if g["normalised_beta"].notna().any():
                made[f"scores_vs_normalised_beta_{tag}"] = plot_scores_vs(
                    g,
                    "normalised_beta",
                    out,
                    f"scores_vs_normalised_beta_{tag}",
                    f"disentanglement vs normalised beta, {dataset}, {preset} preset",
                )
            made[f"tradeoff_{tag}"] = plot_tradeoff(
                g, out, f"tradeoff_{tag}", f"rate-distortion trade-off, {dataset}, {preset} preset"
            )
        if run_figures:
            items, shown, kept = [], 0, 0
            trained = g[g["kind"] == "model"].sort_values(["beta", "seed"], na_position="first")
            for r in trained.itertuples(index=False):
                arr_path = Path(results_dir) / RUNS / r.run_id / "figures" / "arrays.npz"
                paths = (
                    copy_run_figures(Path(results_dir) / RUNS / r.run_id / "figures", out / "runs", r.run_id)
                    if reuse_run_images
                    else []
                )
                if not paths:
                    paths = plot_run(arr_path, out / "runs", r.run_id, f"{r.label}, seed {r.seed}")
                arrays = load_run_arrays(arr_path) if paths else None
                if not paths:  # no run folder here: keep what an earlier build drew for this very run id
                    paths = existing_figures(out / "runs", _run_figure_names(r.run_id))
                if paths:
                    made[f"run_{r.run_id}"] = paths
                if r.seed == trained["seed"].min():
                    shown += 1
                    if arrays is not None:
                        items.append((r.label, arrays))
                    elif paths:
                        kept += 1
            stem = f"traversals_{tag}"
            previous = existing_figures(out, [f"{stem}.{fmt}" for fmt in FIG_FORMATS])
            if items and (len(items) == shown or not previous):
                made[stem] = plot_traversal_comparison(
                    items, out, stem, f"latent traversals (top latents by KL), {dataset}, {preset} preset"
                )
            elif previous and shown and len(items) + kept == shown:  # drawn from these runs' arrays, absent here
                made[stem] = previous
    return made
