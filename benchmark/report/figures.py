"""Figures from results files alone (``python -m benchmark figures`` rebuilds them without training).

Sweep-level figures, from ``results.csv`` and ``published.csv`` (PNG + PDF in ``results/figures/``):

* ``comparison_<dataset>_<preset>``: the beta-VAE paper's score table (Fig. 6 left / "Table 1"):
  ground truth, raw pixels, PCA, ICA, untrained VAE, AE, VAE, beta-VAE -- ours (mean +- sd over
  seeds, each metric variant) beside the published numbers, never merged with them;
* ``scores_vs_beta_<dataset>_<preset>`` and ``scores_vs_normalised_beta_...``: every
  disentanglement score against beta and against beta*M/N, seeds as error bars;
* ``tradeoff_<dataset>_<preset>``: reconstruction error, KL and active latents against beta.

Per-run figures, re-plotted from the arrays each trained run saved (``runs/<id>/figures/arrays.npz``;
the model is not needed): latent traversals (rows = latents sorted by KL, +-3 sd around a seed
image), per-latent KL bars, reconstructions beside inputs; and per dataset a side-by-side
traversal comparison of the trained models (for 3D faces / chairs: the paper's Figs. 2-3 layout).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.report.results import SCORE_LABELS, score_columns

FIG_FORMATS = ("png", "pdf")
COMPARISON_VARIANTS = ("beta_vae_reference", "beta_vae_paper")  # the paper's table: both variants of its score
REPRESENTATION_ORDER = ["ground truth", "raw pixels", "PCA", "ICA", "untrained VAE", "AE"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="paper")
    return plt, sns


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    """Save ``fig`` as PNG and PDF (atomically: temp file + rename) and close it."""
    from benchmark.io import atomic_write_bytes
    import io

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FIG_FORMATS:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=130, bbox_inches="tight", metadata={"CreationDate": None} if fmt == "pdf" else None)
        p = out_dir / f"{stem}.{fmt}"
        atomic_write_bytes(p, buf.getvalue())
        paths.append(p)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


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


def comparison_table(df: pd.DataFrame, published: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The paper's comparison table: one row per representation, ours per variant beside published.

    Returns columns: representation, ours_<variant> (mean), ours_<variant>_sd, n, published, published_sd.
    Ours in percent accuracy to match the paper.
    """
    rows = []
    variants = [c for c in COMPARISON_VARIANTS if c in df.columns and df[c].notna().any()]  # a preset may skip one
    trained = df[df["kind"] == "model"].assign(_b=pd.to_numeric(df["beta"], errors="coerce")).sort_values(["_b", "label"])
    labels = list(dict.fromkeys(REPRESENTATION_ORDER + list(trained["label"].dropna().unique())
                                + list(df["label"].dropna().unique())))
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
            rows.append({"representation": rep, "n": 0, **{f"ours_{v}": np.nan for v in variants},
                         **{f"ours_{v}_sd": np.nan for v in variants},
                         "published": float(pr.value), "published_sd": float(pr.std) if pd.notna(pr.std) else np.nan})
    return pd.DataFrame(rows)


def plot_comparison(table: pd.DataFrame, out_dir: Path, stem: str, title: str) -> list[Path]:
    plt, sns = _plt()
    long = []
    for r in table.itertuples(index=False):
        d = r._asdict()
        for col, name in (("ours_beta_vae_reference", "ours: reference variant"), ("ours_beta_vae_paper", "ours: paper variant"),
                          ("published", "published (recalled)")):
            if col in d and pd.notna(d[col]):
                sd = d.get(col + "_sd") if col != "published" else d.get("published_sd")
                long.append({"representation": d["representation"], "source": name, "score": d[col],
                             "sd": sd if sd is not None and pd.notna(sd) else 0.0})
    long = pd.DataFrame(long)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * table.shape[0] + 2), 3.8))
    if not long.empty:
        reps = list(dict.fromkeys(table["representation"]))
        sources = list(dict.fromkeys(long["source"]))
        width = 0.8 / len(sources)
        pal = dict(zip(["ours: reference variant", "ours: paper variant", "published (recalled)"], sns.color_palette("deep", 3)))
        for i, s in enumerate(sources):
            sub = long[long["source"] == s].set_index("representation").reindex(reps)
            x = np.arange(len(reps)) + (i - (len(sources) - 1) / 2) * width
            ax.bar(x, sub["score"], width, yerr=sub["sd"].fillna(0), label=s, color=pal.get(s),
                   hatch="//" if s.startswith("published") else None, edgecolor="white", capsize=2)
        ax.set_xticks(np.arange(len(reps)), reps, rotation=30, ha="right")
    ax.set_ylabel("beta-VAE score (accuracy %)")
    ax.set_ylim(0, 105)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=7, frameon=True)
    return save(fig, out_dir, stem)


def plot_scores_vs(df: pd.DataFrame, x: str, out_dir: Path, stem: str, title: str) -> list[Path]:
    """One panel per score: mean +- sd over seeds against ``x`` (beta or normalised_beta), log x."""
    plt, sns = _plt()
    m = _model_rows(df)
    scores = [c for c in score_columns(df) if m[c].notna().any()] if not m.empty else []
    ncol = min(4, max(1, len(scores)))
    nrow = max(1, -(-len(scores) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.7 * nrow), squeeze=False)
    ae = m[m["model"] == "ae"]
    curve = m[m["model"] != "ae"].copy()
    curve = curve[curve[x].astype(float) > 0] if not curve.empty else curve
    for ax, s in zip(axes.flat, scores):
        if not curve.empty:
            sns.lineplot(data=curve, x=x, y=s, hue="family", marker="o", errorbar="sd", err_style="bars", ax=ax,
                         legend=ax is axes.flat[0])
        if not ae.empty and ae[s].notna().any():
            ax.axhline(ae[s].mean(), color="grey", ls="--", lw=1, label="AE (no KL)")
        ax.set_xscale("log")
        ax.set_xlabel("beta" if x == "beta" else "normalised beta = beta*M/N")
        ax.set_ylabel("")
        ax.set_title(SCORE_LABELS.get(s, s), fontsize=8)
    for ax in list(axes.flat)[len(scores):]:
        ax.axis("off")
    if scores:
        axes.flat[0].legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, out_dir, stem)


def plot_tradeoff(df: pd.DataFrame, out_dir: Path, stem: str, title: str) -> list[Path]:
    """Reconstruction error, KL and active latents against beta (the rate-distortion trade-off)."""
    plt, sns = _plt()
    m = _model_rows(df)
    cols = [c for c in ("recon_bce", "kl", "active_units") if c in m.columns and m[c].notna().any()]
    fig, axes = plt.subplots(1, max(1, len(cols)), figsize=(3.3 * max(1, len(cols)), 2.8), squeeze=False)
    for ax, c in zip(axes.flat, cols):
        sub = m[m["beta"] > 0]
        if not sub.empty:
            sns.lineplot(data=sub, x="beta", y=c, marker="o", errorbar="sd", err_style="bars", ax=ax, color="C0", label="VAE / beta-VAE")
        ae = m[m["model"] == "ae"]
        if not ae.empty and ae[c].notna().any():
            ax.axhline(ae[c].mean(), color="grey", ls="--", lw=1, label="AE (beta = 0)")
        ax.set_xscale("log")
        ax.set_xlabel("beta")
        ax.set_ylabel("")
        ax.set_title(SCORE_LABELS.get(c, c), fontsize=8)
        ax.legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, out_dir, stem)


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
            out[:, i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w] = tiles[i, j]
    return out[0] if ch == 1 else np.transpose(out, (1, 2, 0))


def plot_traversal(arr: dict, out_dir: Path, stem: str, title: str, max_rows: int | None = None) -> list[Path]:
    """Rows = latents sorted by KL (largest first), columns = values from -3 sd to +3 sd."""
    plt, _ = _plt()
    trav = arr["traversal"]  # (L, S, C, H, W), rows already sorted by KL
    kl = arr.get("kl_sorted", np.zeros(trav.shape[0]))
    dims = arr.get("dims_sorted", np.arange(trav.shape[0]))
    rows = trav.shape[0] if max_rows is None else min(max_rows, trav.shape[0])
    steps, h = trav.shape[1], trav.shape[3]
    rank_by = str(arr.get("rank_by", "KL"))
    vals = arr.get("values", np.linspace(-3, 3, steps))
    fig, ax = plt.subplots(figsize=(0.7 * steps + 1.3, 0.7 * rows + 0.6))
    ax.imshow(montage(trav[:rows]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([(h + 2) * i + h / 2 for i in range(rows)],
                  [f"z{int(dims[i])}  {rank_by} {float(kl[i]):.2f}" for i in range(rows)], fontsize=6)
    ax.set_xticks([(h + 2) * j + h / 2 for j in range(steps)], [f"{float(v):+.1f}" for v in vals], fontsize=6)
    ax.grid(False)
    ax.set_title(title, fontsize=8)
    return save(fig, out_dir, stem)


def plot_kl_bars(arr: dict, out_dir: Path, stem: str, title: str) -> list[Path]:
    plt, sns = _plt()
    kl = np.asarray(arr["kl_per_dim"], dtype=float)
    fig, ax = plt.subplots(figsize=(max(3, 0.35 * len(kl) + 1), 2.4))
    ax.bar([f"z{i}" for i in range(len(kl))], kl, color=sns.color_palette("deep")[0])
    ax.axhline(0.01, color="grey", lw=0.8, ls=":", label="active-unit threshold 0.01")
    ax.set_ylabel("KL per latent (nats)")
    ax.tick_params(axis="x", labelsize=6, rotation=90)
    ax.legend(fontsize=6)
    ax.set_title(title, fontsize=8)
    return save(fig, out_dir, stem)


def plot_reconstructions(arr: dict, out_dir: Path, stem: str, title: str) -> list[Path]:
    plt, _ = _plt()
    x, r = np.asarray(arr["inputs"]), np.asarray(arr["reconstructions"])
    n, h = x.shape[0], x.shape[2]
    fig, ax = plt.subplots(figsize=(0.7 * n + 1.0, 1.9))
    ax.imshow(montage(np.stack([x, r])), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([h / 2, h + 2 + h / 2], ["input", "recon."], fontsize=7)
    ax.set_xticks([])
    ax.grid(False)
    ax.set_title(title, fontsize=8)
    return save(fig, out_dir, stem)


def plot_traversal_comparison(items: list[tuple[str, dict]], out_dir: Path, stem: str, title: str, top: int = 5) -> list[Path]:
    """Side by side traversals of the top-``top`` latents (by KL) of several models (paper Figs. 2-3 layout)."""
    plt, _ = _plt()
    if not items:
        return []
    steps = items[0][1]["traversal"].shape[1]
    rows = min(top, max(a["traversal"].shape[0] for _, a in items))
    fig, axes = plt.subplots(rows, len(items), figsize=(2.2 * len(items) * steps / 7 + 0.5, 0.4 * rows * 1.4 + 0.6), squeeze=False)
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
    paths = plot_traversal(arr, out_dir, stems["traversal"],
                           f"{title}: traversals (+-3 sd), rows by {str(arr.get('rank_by', 'KL')).replace('var', 'code variance')}")
    paths += plot_kl_bars(arr, out_dir, stems["kl"], f"{title}: KL per latent")
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


def build_all(results: pd.DataFrame, published: pd.DataFrame, results_dir: str | os.PathLike,
              out_dir: str | os.PathLike, run_figures: bool = True, reuse_run_images: bool = True) -> dict[str, list[Path]]:
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
                tab, out, f"comparison_{tag}", f"beta-VAE score on {dataset} ({preset} preset): ours vs published")
        if not _model_rows(g).empty:
            made[f"scores_vs_beta_{tag}"] = plot_scores_vs(g, "beta", out, f"scores_vs_beta_{tag}",
                                                           f"disentanglement vs beta, {dataset}, {preset} preset (sd over seeds)")
            if g["normalised_beta"].notna().any():
                made[f"scores_vs_normalised_beta_{tag}"] = plot_scores_vs(
                    g, "normalised_beta", out, f"scores_vs_normalised_beta_{tag}",
                    f"disentanglement vs normalised beta, {dataset}, {preset} preset")
            made[f"tradeoff_{tag}"] = plot_tradeoff(g, out, f"tradeoff_{tag}",
                                                    f"rate-distortion trade-off, {dataset}, {preset} preset (sd over seeds)")
        if run_figures:
            items, shown, kept = [], 0, 0
            trained = g[g["kind"] == "model"].sort_values(["beta", "seed"], na_position="first")
            for r in trained.itertuples(index=False):
                arr_path = Path(results_dir) / RUNS / r.run_id / "figures" / "arrays.npz"
                paths = copy_run_figures(Path(results_dir) / RUNS / r.run_id / "figures", out / "runs", r.run_id) \
                    if reuse_run_images else []
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
                    items, out, stem, f"latent traversals (top latents by KL), {dataset}, {preset} preset")
            elif previous and shown and len(items) + kept == shown:  # drawn from these runs' arrays, absent here
                made[stem] = previous
    return made
