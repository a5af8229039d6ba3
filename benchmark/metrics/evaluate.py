"""``evaluate``: run a suite of scores on an encoder or on precomputed codes, as one JSON-ready dict.

Flow (this is where the speed comes from):

1. every requested metric draws all its samples first, from its own random stream;
2. the union of the flat indices they touch decides what to encode: the whole grid or only those
   unique indices (:func:`~benchmark.metrics.encode.choose_indices`), once, with the encoder mean;
3. each metric is then a pure function of the codes, the factor grid, its stream and its
   parameters.

Random streams (``random_stream``): by default (``"reference"``) every metric draws from its own
``numpy.random.RandomState(seed)``, exactly as disentanglement_lib's ``compute_*`` functions do when
handed ``RandomState(seed)``; our samplers make the same calls in the same order, so they draw the
reference's samples and, for the same seed, give the reference's numbers (tested against samples and
scores recorded from the reference itself, ``tests/test_metrics_reference_golden.py``; exact on
datasets without per-image nuisance noise). ``"independent"`` gives metric ``name`` the numpy
Generator ``default_rng(SeedSequence(seed, spawn_key=(crc32(name),)))`` instead, so that metrics of
one run do not share their first draws. Either way a metric's score depends only on (seed, its
parameters, the codes), never on which other metrics ran or in which order.

Thread count: encoding an image batch with torch on CPU sums each matrix product in an order that
depends on the number of threads, so codes computed with 1 and 2 threads differ by float rounding
(recorded as ``torch_threads``). Scores that fit a classifier can turn that into a few test points
(an example in docs/performance.md). For bitwise repeats, fix ``--threads``.

Sample sizes (:data:`SAMPLE_SIZES`, chosen by ``preset``): ``reference`` = disentanglement_lib's study
configs; ``quick`` = about 10x smaller for a laptop; ``tiny`` = for tests. Every parameter used is written
to the result.
"""

from __future__ import annotations

import copy
import inspect
import math
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np

from benchmark.errors import BenchmarkError
from benchmark.metrics import beta_vae, dci, downstream, factor_vae, generative, irs, mig, modularity, sap, unsupervised
from benchmark.metrics.utils import as_codes


@dataclass(frozen=True)
class MetricSpec:
    """How ``evaluate`` runs one metric."""

    name: str
    variant: str  # what the result row calls this computation
    module: Any  # provides sample(grid, rng, **params) and indices(samples)
    score: Callable  # score(codes, grid, rng, samples=..., **params) -> dict
    defaults: dict
    fixed: dict = field(default_factory=dict)  # parameters that define the variant
    description: str = ""


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in [
        MetricSpec(
            "beta_vae",
            "beta_vae_sklearn_logreg",
            beta_vae,
            beta_vae.beta_vae_score,
            beta_vae.DEFAULTS,
            {"classifier": "sklearn_logreg"},
            "Higgins et al. 2017 score, reference classifier (sklearn logistic regression)",
        ),
        MetricSpec(
            "beta_vae_paper",
            "beta_vae_adagrad_linear",
            beta_vae,
            beta_vae.beta_vae_score,
            beta_vae.DEFAULTS,
            {"classifier": "adagrad_linear"},
            "Higgins et al. 2017 score, paper's Adagrad linear softmax classifier",
        ),
        MetricSpec(
            "factor_vae",
            "factor_vae",
            factor_vae,
            factor_vae.factor_vae_score,
            factor_vae.DEFAULTS,
            {},
            "Kim & Mnih 2018 majority-vote score",
        ),
        MetricSpec(
            "mig",
            mig.VARIANT,
            mig,
            mig.mig,
            mig.DEFAULTS,
            {},
            "Mutual information gap, histogram estimator (disentanglement_lib)",
        ),
        MetricSpec(
            "dci",
            "dci_gbt",
            dci,
            dci.dci,
            dci.DEFAULTS,
            {"variant": "gbt"},
            "Eastwood & Williams 2018 with the reference's GradientBoostingClassifier (NumPy re-implementation)",
        ),
        MetricSpec(
            "dci_sklearn",
            "dci_gbt_sklearn",
            dci,
            dci.dci,
            dci.DEFAULTS,
            {"variant": "gbt_sklearn"},
            "DCI with scikit-learn's GradientBoostingClassifier itself (slow cross-check of dci)",
        ),
        MetricSpec(
            "dci_hist",
            "dci_hist_gbt",
            dci,
            dci.dci,
            dci.DEFAULTS,
            {"variant": "hist_gbt"},
            "DCI with HistGradientBoostingClassifier split-gain importances (fast, declared variant)",
        ),
        MetricSpec(
            "sap", "sap_discrete_linearsvc", sap, sap.sap_score, sap.DEFAULTS, {}, "SAP score (discrete factors)"
        ),
        MetricSpec(
            "modularity_explicitness",
            "modularity_explicitness",
            modularity,
            modularity.modularity_explicitness,
            modularity.DEFAULTS,
            {},
            "Ridgeway & Mozer 2018",
        ),
        MetricSpec(
            "unsupervised",
            "unsupervised",
            unsupervised,
            unsupervised.unsupervised,
            unsupervised.DEFAULTS,
            {},
            "Gaussian total correlation, Wasserstein correlation, mean pairwise MI of codes",
        ),
        MetricSpec(
            "irs",
            "irs",
            irs,
            irs.irs,
            irs.DEFAULTS,
            {},
            "Interventional Robustness Score (Suter et al. 2019), the reference's 0.99-quantile estimator",
        ),
        MetricSpec(
            "downstream_gbt",
            "downstream_task_boosted_trees",
            downstream,
            downstream.downstream_task,
            downstream.DEFAULTS,
            {"predictor": "gbt"},
            "Per-factor accuracy of GradientBoostingClassifier() trained on 10 / 100 / 1,000 / 10,000 points",
        ),
        MetricSpec(
            "downstream_logreg",
            "downstream_task_logistic_regression",
            downstream,
            downstream.downstream_task,
            downstream.DEFAULTS,
            {"predictor": "logistic_regression_cv"},
            "Per-factor accuracy of LogisticRegressionCV(Cs=10, 5 folds) trained on 10 / 100 / 1,000 / 10,000 points",
        ),
    ]
}
GENERATIVE = "generative"
# The reference study's suite, minus the downstream tasks
# (downstream_gbt / downstream_logreg: by name, as they cost another DCI-sized fit).
SUITE = ("beta_vae", "factor_vae", "mig", "dci", "sap", "modularity_explicitness", "unsupervised")

# Each metric's sample sizes and parameters per preset name (``--preset``); not the training protocols of
# benchmark.sweep.presets, which share the names quick and tiny.
SAMPLE_SIZES: dict[str, dict[str, dict]] = {
    "reference": (
        {name: dict(spec.defaults) for name, spec in METRICS.items()} | {GENERATIVE: dict(generative.DEFAULTS)}
    ),
    "quick": {
        "beta_vae": dict(batch_size=64, num_train=1_000, num_eval=500, logreg_solver="lbfgs"),
        "beta_vae_paper": dict(batch_size=64, num_train=1_000, num_eval=500),
        "factor_vae": dict(
            batch_size=64, num_train=1_000, num_eval=500, num_variance_estimate=2_000, prune_threshold=0.05
        ),
        "mig": dict(num_train=2_000, batch_size=16, num_bins=20),
        "dci": dict(num_train=2_000, num_test=1_000, batch_size=16),
        "dci_hist": dict(num_train=2_000, num_test=1_000, batch_size=16),
        "dci_sklearn": dict(num_train=2_000, num_test=1_000, batch_size=16),
        "sap": dict(num_train=2_000, num_test=1_000, batch_size=16, continuous_factors=False),
        "modularity_explicitness": dict(
            num_train=2_000, num_test=1_000, batch_size=16, num_bins=20, logreg_solver="lbfgs"
        ),
        "unsupervised": dict(num_train=2_000, batch_size=16, num_bins=20),
        "irs": dict(num_train=2_000, batch_size=16, diff_quantile=0.99, num_bins=20),
        "downstream_gbt": dict(num_train=(10, 100, 1_000), num_test=1_000, batch_size=16),
        "downstream_logreg": dict(num_train=(10, 100, 1_000), num_test=1_000, batch_size=16),
        GENERATIVE: dict(num_points=500, batch_size=64, iwae_k=20, iwae_points=200, active_threshold=0.01),
    },
    "tiny": {
        "beta_vae": dict(batch_size=16, num_train=200, num_eval=100, logreg_solver="lbfgs"),
        "beta_vae_paper": dict(batch_size=16, num_train=200, num_eval=100),
        "factor_vae": dict(batch_size=16, num_train=200, num_eval=100, num_variance_estimate=500, prune_threshold=0.05),
        "mig": dict(num_train=500, batch_size=16, num_bins=20),
        "dci": dict(num_train=300, num_test=150, batch_size=16),
        "dci_hist": dict(num_train=300, num_test=150, batch_size=16),
        "dci_sklearn": dict(num_train=300, num_test=150, batch_size=16),
        "sap": dict(num_train=300, num_test=150, batch_size=16, continuous_factors=False),
        "modularity_explicitness": dict(num_train=300, num_test=150, batch_size=16, num_bins=20, logreg_solver="lbfgs"),
        "unsupervised": dict(num_train=300, batch_size=16, num_bins=20),
        "irs": dict(num_train=300, batch_size=16, diff_quantile=0.99, num_bins=20),
        "downstream_gbt": dict(num_train=(10, 100), num_test=100, batch_size=16),
        "downstream_logreg": dict(num_train=(10, 100), num_test=100, batch_size=16),
        GENERATIVE: dict(num_points=64, batch_size=32, iwae_k=4, iwae_points=16, active_threshold=0.01),
    },
}


def metric_rng(seed: int, name: str) -> np.random.Generator:
    """The independent random stream of metric ``name`` under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(name.encode()),)))


def available_metrics() -> list[str]:
    return list(METRICS) + [GENERATIVE]


def resolve_params(
    name: str, grid, preset: str = "reference", overrides: Optional[dict] = None, per_metric: Optional[dict] = None
) -> dict:
    """Parameters of one metric: preset sizes, then global ``overrides`` it accepts, then ``per_metric``."""
    if preset not in SAMPLE_SIZES:
        raise BenchmarkError(f"unknown preset {preset!r}; choose one of {', '.join(SAMPLE_SIZES)}")
    params = dict(SAMPLE_SIZES[preset][name])
    for k, v in (overrides or {}).items():
        if k in params:
            params[k] = v
    params.update((per_metric or {}).get(name, {}))
    if name in METRICS:
        params.update(METRICS[name].fixed)
    if name == "beta_vae_paper" and "factors" not in params:
        # The paper's dSprites experiment leaves shape out; other datasets use all latent factors.
        names = set(grid.latent_names)
        params["factors"] = (
            list(beta_vae.PAPER_DSPRITES_FACTORS)
            if set(beta_vae.PAPER_DSPRITES_FACTORS) <= names and "shape" in names
            else None
        )
    fn = generative.generative_scores if name == GENERATIVE else METRICS[name].score
    accepted = set(inspect.signature(fn).parameters) - {"codes", "grid", "rng", "samples", "model", "dataset", "device"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise BenchmarkError(
            f"{name} has no parameter {', '.join(unknown)}; its parameters are: {', '.join(sorted(accepted))}"
        )
    signature = inspect.signature(fn).parameters
    for k, v in params.items():
        _check_param_type(name, k, v, signature[k].default)
        if k.startswith("num_") and isinstance(v, int) and v < 1 and k != "num_bins":
            raise BenchmarkError(f"{name}: {k} must be >= 1, got {v}")
    return params


def _check_param_type(name: str, key: str, value, default) -> None:
    """Refuse a parameter whose type cannot be the default's (``--param mig.num_train=abc``)."""
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, (int, np.integer)) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float, np.number)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    else:  # None or a structured default: the metric validates it
        return
    if not ok:
        raise BenchmarkError(f"{name}: {key} must be {kind} (default {default!r}), got {value!r}")


def _check_seed(name: str, value) -> None:
    """numpy's RandomState takes seeds in 0 .. 2**32 - 1; anything else is a traceback deep inside it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= int(value) <= 2**32 - 1:
        raise BenchmarkError(
            f"{name} must be an integer from 0 to 2**32 - 1 (numpy RandomState's range), got {value!r}"
        )


def _finite(obj, path, warns):
    """Replace non-finite floats by None (JSON has no inf/NaN), noting each in ``warns``."""
    if isinstance(obj, dict):
        return {k: _finite(v, f"{path}.{k}", warns) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v, f"{path}[{i}]", warns) for i, v in enumerate(obj)]
    if isinstance(obj, (float, np.floating)):
        if not math.isfinite(obj):
            warns.append(f"{path} is {float(obj)}; stored as null (the metric's docstring says when it is not finite)")
            return None
        return float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _versions() -> dict:
    import scipy
    import sklearn
    import torch

    from benchmark import __version__

    return {
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "torch_version": torch.__version__,
        "benchmark_version": __version__,
        # encoders' matrix products split their sums by thread, so codes (and, through classifiers
        # fitted on them, scores) can differ at rounding level between thread counts
        "torch_threads": torch.get_num_threads(),
    }


def evaluate(
    encoder_or_codes,
    dataset,
    metrics: Optional[Sequence[str]] = None,
    seed: int = 0,
    preset: str = "reference",
    params: Optional[dict] = None,
    device=None,
    batch_size: Optional[int] = None,
    cache_dir=None,
    key: Optional[str] = None,
    noise_seed: int = 0,
    subset_fraction: float = 0.9,
    bf16: bool = False,
    representation: str = "mean",
    progress: bool = False,
    random_stream: str = "reference",
    **sizes,
) -> dict:
    """Score a representation on a ground-truth dataset.

    Parameters
    ----------
    encoder_or_codes : encoder (``encode(x)``), model (``encode``/``decode``, enables "generative"),
        ``(N, D)`` array / tensor with one row per image in flat index order, or ``Codes``.
    dataset : GroundTruthDataset
    metrics : names, optional
        From :func:`available_metrics`; default the reference suite ``SUITE`` (plus "generative"
        is never implied).
    seed : int
        Master seed; each metric draws from ``RandomState(seed)`` (or :func:`metric_rng` ``(seed, m)``
        with ``random_stream="independent"``).
    preset : "reference" | "quick" | "tiny"
        Sample sizes.
    params : dict, optional
        Per-metric parameter overrides, e.g. ``{"dci": {"n_jobs": 1}}``.
    device, batch_size, cache_dir, key, noise_seed, bf16 : encoding options (see ``encode_dataset``).
    representation : "mean" | "sampled"
        Score the encoder mean (default; what published numbers use) or the reference's sampled
        code mu + exp(logvar/2) eps with fresh eps per read (stream ``metric_rng(seed, m + ":sampled")``).
    subset_fraction : float
        Encode only the touched indices when they are fewer than this fraction of the grid.
    progress : bool
        Report progress: encoding as a bar (periodic lines in a log file), then one line per score.
    random_stream : "reference" | "independent"
        ``reference`` (default): every metric draws from its own ``numpy.random.RandomState(seed)``
        as disentanglement_lib's ``compute_*`` functions do when given that seed, so the samples are
        the reference's own (exact on datasets without per-image nuisance noise; see
        :class:`~benchmark.metrics.utils.ReferenceRandomState`). ``independent``: metric ``m`` draws
        from :func:`metric_rng` ``(seed, m)``, a numpy Generator of its own.
    **sizes
        Overrides applied to every metric that has the parameter (e.g. ``num_train=2000``).

    Returns
    -------
    dict, JSON-ready: ``metrics`` (per metric: variant, params, scores, seconds, random stream),
    ``scores`` (flat ``metric.key`` -> value), seed, preset, library versions, dataset provenance,
    representation (encoding info), warnings.
    """
    from benchmark import runtime
    from benchmark.metrics.encode import Codes, SampledCodes, choose_indices, encode_dataset

    runtime.setup()  # the allocator setting speeds up encoding; cheap and idempotent for repeated calls
    representation_kind = representation
    if representation_kind not in ("mean", "sampled"):
        raise BenchmarkError(f"representation must be 'mean' or 'sampled', got {representation_kind!r}")

    metrics = list(SUITE if metrics is None else metrics)
    unknown = [m for m in metrics if m not in available_metrics()]
    if unknown:
        raise BenchmarkError(f"unknown metric(s) {unknown}; choose from {', '.join(available_metrics())}")
    grid = dataset.grid
    is_encoder = hasattr(encoder_or_codes, "encode")
    if GENERATIVE in metrics and not (is_encoder and hasattr(encoder_or_codes, "decode")):
        raise BenchmarkError(
            "the 'generative' metric needs a model with encode(x) and decode(z); drop it for codes or encoders"
        )
    code_metrics = [m for m in metrics if m != GENERATIVE]
    warns: list[str] = []
    t_total = time.perf_counter()

    _check_seed("seed", seed)
    _check_seed("noise_seed", noise_seed)
    resolved = {m: resolve_params(m, grid, preset, sizes, params) for m in metrics}
    if random_stream not in ("independent", "reference"):
        raise BenchmarkError(f"random_stream must be 'independent' or 'reference', got {random_stream!r}")
    if random_stream == "reference":
        from benchmark.metrics.utils import ReferenceRandomState

        rngs = {m: ReferenceRandomState(seed) for m in metrics}
    else:
        rngs = {m: metric_rng(seed, m) for m in metrics}
    samples, t_sample = {}, {}
    for m in code_metrics:
        t0 = time.perf_counter()
        samples[m] = METRICS[m].module.sample(grid, rngs[m], **resolved[m])
        t_sample[m] = time.perf_counter() - t0

    rep_info: dict = {}
    codes = None
    if code_metrics:
        if is_encoder:
            needed = np.concatenate([METRICS[m].module.indices(samples[m]) for m in code_metrics])
            selection = choose_indices(needed, len(dataset), subset_fraction)
            codes = encode_dataset(
                encoder_or_codes,
                dataset,
                selection,
                batch_size=batch_size,
                device=device,
                cache_dir=cache_dir,
                key=key,
                noise_seed=noise_seed,
                bf16=bf16,
                progress=progress,
            )
            rep_info = {
                "kind": "encoder",
                "dim": codes.dim,
                "unique_indices_needed": int(len(np.unique(needed))),
                "samples_drawn": int(len(needed)),
                **codes.info,
            }
        else:
            codes = as_codes(encoder_or_codes, len(dataset))
            rep_info = {"kind": "codes", "dim": codes.dim}
            if isinstance(encoder_or_codes, Codes):
                rep_info.update(encoder_or_codes.info)
            if representation_kind == "sampled" and not isinstance(encoder_or_codes, Codes):
                raise BenchmarkError(
                    "the sampled representation needs log-variances: pass an encoder or Codes, not an array"
                )
            if representation_kind == "sampled":
                codes = encoder_or_codes
        rep_info["representation"] = representation_kind

    results = {}
    for m in metrics:
        t0 = time.perf_counter()
        p = resolved[m]
        if m == GENERATIVE:
            scores = generative.generative_scores(encoder_or_codes, dataset, rngs[m], device=device, **p)
            variant, description = "generative", "reconstruction, ELBO/KL, active units, IWAE bound"
        else:
            spec = METRICS[m]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                source = (
                    SampledCodes(codes, metric_rng(seed, m + ":sampled")) if representation_kind == "sampled" else codes
                )
                scores = spec.score(source, grid, rngs[m], samples=samples[m], **p)
            variant, description = spec.variant, spec.description
            if scores.get("classifier_converged") is False:
                warns.append(
                    f"{m}: the Adagrad classifier did not converge (training accuracy "
                    f"{scores['classifier_accuracy_gap']:.3f} below the optimum of its loss); its score is "
                    f"not the converged classifier's"
                )
        results[m] = {
            "variant": variant,
            "description": description,
            "params": copy.deepcopy(p),
            "scores": scores,
            "seconds": time.perf_counter() - t0 + t_sample.get(m, 0.0),
            "random_stream": (
                {"seed": seed, "spawn_key": zlib.crc32(m.encode())}
                if random_stream == "independent"
                else {
                    "seed": seed,
                    "kind": "numpy RandomState(seed), as the reference",
                    # the reference also draws per-image nuisance noise from it, between chunks
                    "replays_reference_samples": not dataset.stochastic,
                }
            ),
        }
        if progress:  # scoring a run takes minutes at reference sizes: say what is done
            print(
                f"scored {m} in {results[m]['seconds']:.1f} s ({len(results)}/{len(metrics)})",
                file=sys.stderr,
                flush=True,
            )
    flat = {
        f"{m}.{k}": v for m, r in results.items() for k, v in r["scores"].items() if not isinstance(v, (list, dict))
    }
    out = {
        "seed": seed,
        "random_stream": random_stream,
        "preset": preset,
        "metrics_requested": metrics,
        **_versions(),
        "dataset": dataset.info(),
        "representation": rep_info,
        "metrics": results,
        "scores": flat,
        "seconds_total": time.perf_counter() - t_total,
        "notes": {
            "sklearn_logistic_regression": "default solver lbfgs (multinomial); "
            "'multi_class' no longer exists in sklearn 1.9; "
            "the 2018-19 reference study used liblinear one-vs-rest (sklearn <= 0.21): "
            "logreg_solver='liblinear' of beta_vae / modularity_explicitness reproduces it",
            "sklearn_linear_svc": "dual='auto' default since sklearn 1.3 (primal solver here); reference era dual=True",
        },
    }
    finite_warns: list[str] = []
    out = _finite(out, "result", finite_warns)
    # a flat score and its copy under metrics.<m>.scores are one value: name it once, by its flat name
    flat_paths = {f"result.metrics.{k.split('.', 1)[0]}.scores.{k.split('.', 1)[1]}" for k in flat}
    for w in finite_warns:
        path = w.split(" ", 1)[0]
        if path not in flat_paths:
            warns.append(w[len("result.scores.") :] if path.startswith("result.scores.") else w)
    out["warnings"] = warns
    return out
