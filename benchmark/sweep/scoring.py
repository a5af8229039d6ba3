"""Scoring a representation under a preset's evaluation recipe (the runner's adapter onto benchmark.metrics).

Used for every run of a sweep and for ``compare`` (a user's checkpoint or codes), so both are scored by
exactly the same function, sizes and seeds.
"""

from __future__ import annotations

from benchmark.results.columns import GENERATIVE_KEYS, SCORE_KEYS

# Raw pixels have C*64*64 dimensions: only the paper's table metric is affordable (DCI's boosted
# trees over 4,096 features take hours); the other baselines get the whole suite.
BASELINE_METRICS = {"pixels": ("beta_vae", "beta_vae_paper")}


def load_run_dataset(spec):
    """The dataset of a run, from the data source its id was planned with."""
    from benchmark.data import load_dataset

    return load_dataset(spec.dataset, spec.data_dir, source=spec.data_source)


def score_representation(
    rep,
    dataset,
    eval_recipe,
    seed: int,
    device: str,
    metrics=None,
    generative: bool | None = None,
    cache_dir=None,
    key: str | None = None,
    representation: str = "mean",
    progress: bool = False,
) -> dict:
    """Scores of a representation under a preset's evaluation recipe, as ``{results.csv column: value}``.

    Parameters
    ----------
    rep: an encoder / model (``encode``, optionally ``decode``), an ``(N, D)`` code array, or a code source.
    dataset: the GroundTruthDataset.
    eval_recipe: ``EvalRecipe`` or its dict.
    seed: the metric seed.
    device: encoding device.
    metrics: override the recipe's metric list.
    generative: add the generative scores (default: the recipe's, for models with ``decode``).
    cache_dir, key: cache encoder codes there (see ``benchmark.metrics.encode.encode_dataset``).
    representation: ``mean`` (the encoder mean) or ``sampled`` (mu + sigma * eps, fresh eps per read).
    progress: report encoding progress and one line per score on stderr.

    Returns
    -------
    Flat dict of scores; with ``_details`` holding evaluate()'s full JSON (parameters, versions, timings).
    """
    from dataclasses import asdict, is_dataclass

    from benchmark.metrics.evaluate import evaluate

    ev = asdict(eval_recipe) if is_dataclass(eval_recipe) else dict(eval_recipe)
    names = list(metrics if metrics is not None else ev["metrics"])
    gen = ev.get("generative", True) if generative is None else generative
    if gen and hasattr(rep, "encode") and hasattr(rep, "decode"):
        names.append("generative")
    res = evaluate(
        rep,
        dataset,
        metrics=names,
        seed=seed,
        preset=ev["metrics_preset"],
        device=device,
        params=ev.get("metric_params") or None,
        cache_dir=cache_dir,
        key=key,
        progress=progress,
        representation=representation,
    )
    out = {}
    for k, v in (res.get("scores") or {}).items():
        if k in SCORE_KEYS:
            out[SCORE_KEYS[k]] = v
        elif k.startswith("generative."):
            g = k.split(".", 1)[1]
            if g in GENERATIVE_KEYS:
                out[GENERATIVE_KEYS[g]] = v
    kl_dim = ((res.get("metrics") or {}).get("generative") or {}).get("scores", {}).get("kl_per_dim")
    out["_details"] = res
    out["_kl_per_dim"] = kl_dim
    return out
