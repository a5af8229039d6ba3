"""Named study grids: whole published sweeps as data, and a dry-run cost estimate.

``locatello2019`` is the unsupervised study of Locatello et al., "Challenging Common Assumptions in
the Unsupervised Learning of Disentangled Representations" (ICML 2019), as disentanglement_lib's
``config/unsupervised_study_v1/sweep.py`` defines it: 7 datasets x
6 models x 6 hyperparameter values x 50 seeds = 12,600 runs, all with the reference protocol
(``paper`` preset: conv encoder/decoder, 10 latents, Adam 1e-4, batch 64, 300,000 steps; FactorVAE
150,000 updates, the number the reference's 300,000 global steps give it).

Run order follows the reference's model numbering, ``model_num = dataset_idx * 1800 +
config_idx * 50 + seed`` (seed fastest), so ``study_runs(...)[k]`` is the reference's model ``k``.
beta = 1 of the BetaVAE grid is this benchmark's ``vae`` run (same model, one name).

``python run_all.py --study locatello2019 --dry-run`` prints :func:`dry_run_report`: how many runs,
how many per dataset and model, and the estimated device hours from a measured training
throughput (:data:`THROUGHPUTS`, each with the command and machine that measured it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from benchmark.errors import BenchmarkError

# --------------------------------------------------------------------------------------------
# grids as data

STUDIES: dict[str, dict[str, Any]] = {
    "locatello2019": {
        "title": "Locatello et al. 2019, unsupervised study (disentanglement_lib unsupervised_study_v1)",
        "source": "disentanglement_lib config/unsupervised_study_v1/sweep.py",
        "preset": "paper",
        # the reference study trained on the official dataset files
        "data_source": "official",
        # (our dataset name, the reference's name), in the reference's order
        "datasets": [
            ("dsprites", "dsprites_full"),
            ("color_dsprites", "color_dsprites"),
            ("noisy_dsprites", "noisy_dsprites"),
            ("scream_dsprites", "scream_dsprites"),
            ("smallnorb", "smallnorb"),
            ("cars3d", "cars3d"),
            ("shapes3d", "shapes3d"),
        ],
        # (model, swept hyperparameter, 6 values), in the reference's order. Fixed parameters are
        # the models' defaults: FactorVAE's MLP discriminator, DIP-VAE-I lambda_d = 10 * lambda_od,
        # DIP-VAE-II lambda_d = lambda_od, AnnealedVAE gamma 1000 with C reaching c_max at 100k steps.
        "models": [
            ("beta_vae", "beta", (1, 2, 4, 6, 8, 16)),
            ("factor_vae", "gamma", (10, 20, 30, 40, 50, 100)),
            ("dip_vae_i", "lambda_od", (1, 2, 5, 10, 20, 50)),
            ("dip_vae_ii", "lambda_od", (1, 2, 5, 10, 20, 50)),
            ("beta_tcvae", "beta", (1, 2, 4, 6, 8, 10)),
            ("annealed_vae", "c_max", (5, 10, 25, 50, 75, 100)),
        ],
        "seeds": 50,
        # Reference quirk: FactorVAE's two optimisers both increment the
        # global step that training stops on, so its nominal 300,000 steps are ~150,000 updates of
        # each network. Our step is one simultaneous update of both, so these models get
        # steps // 2 to make the same number of updates as the reference's.
        "global_steps_per_update": {"factor_vae": 2},
        # the study scores every model with nine metric configs: the
        # paper preset's suite plus both downstream tasks
        "extra_metrics": ("downstream_gbt", "downstream_logreg"),
        # ... on the encoder mean and on the sampled code (postprocess "mean" and "sampled")
        "representations": ("mean", "sampled"),
    },
}


def _model_params(model: str, param: str, value: float) -> tuple[str, dict]:
    """(model, params) as the sweep planner names them: BetaVAE beta = 1 is the ``vae`` run."""
    if model == "beta_vae" and float(value) == 1.0:
        return "vae", {"beta": 1.0}
    return model, {param: float(value)}


def study_runs(
    name: str,
    *,
    datasets: Sequence[str] | None = None,
    seeds: Iterable[int] | None = None,
    device: str = "auto",
    data_dir: str | None = None,
    steps: int | None = None,
) -> list[dict]:
    """Every run of study ``name`` as ``RunSpec.to_dict()`` dicts, in the reference's model order.

    Parameters
    ----------
    name: a key of :data:`STUDIES` (``locatello2019``).
    datasets: run only these of the study's datasets (default all).
    seeds: run only these seeds (default ``0 .. seeds-1``).
    device, data_dir: where the runs execute (recorded, not hashed into run ids).
    steps: override the preset's training steps (for a trial; changes the run ids). Steps count the
        reference's global steps: models listed in the study's ``global_steps_per_update`` (FactorVAE,
        whose reference run advances the global step twice per update) train ``steps // 2`` updates.

    Returns
    -------
    List of spec dicts (``benchmark.sweep.plan.RunSpec.from_dict`` rebuilds each).
    """
    from dataclasses import asdict

    from benchmark.sweep.plan import RunSpec
    from benchmark.sweep.presets import get_preset

    study = get_study(name)
    preset = get_preset(study["preset"]).with_steps(steps)
    known = [d for d, _ in study["datasets"]]
    if datasets:
        bad = [d for d in datasets if d not in known]
        if bad:
            raise BenchmarkError(
                f"dataset(s) {', '.join(bad)} are not in study {name}; choose from: {', '.join(known)}"
            )
    chosen = [d for d in known if not datasets or d in datasets]
    all_seeds = list(range(int(study["seeds"])))
    if seeds is not None:
        seeds = list(dict.fromkeys(int(s) for s in seeds))
        bad = [s for s in seeds if s not in all_seeds]
        if bad or not seeds:
            raise BenchmarkError(f"study {name} has seeds 0..{len(all_seeds) - 1}; got {seeds}")
        all_seeds = seeds
    train = asdict(preset.train)
    ev = asdict(preset.eval)
    ev["metrics"] = list(ev["metrics"]) + [m for m in study.get("extra_metrics", ()) if m not in ev["metrics"]]
    if study.get("representations"):  # only studies carry the key, so other run ids are unchanged
        ev["representations"] = list(study["representations"])
    out = []
    for dataset in chosen:
        for model, param, values in study["models"]:
            per_update = int(study.get("global_steps_per_update", {}).get(model, 1))
            recipe = asdict(preset.with_steps(preset.train.steps // per_update).train) if per_update > 1 else train
            for v in values:
                m, params = _model_params(model, param, v)
                for s in all_seeds:
                    spec = RunSpec(
                        kind="model",
                        model=m,
                        params=params,
                        dataset=dataset,
                        data_source=study["data_source"],
                        seed=s,
                        preset=preset.name,
                        train=recipe,
                        eval=ev,
                        device=device,
                        data_dir=data_dir,
                    )
                    out.append(spec.to_dict())
    return out


def get_study(name: str) -> dict[str, Any]:
    if name not in STUDIES:
        raise BenchmarkError(f"unknown study {name!r}; choose one of: {', '.join(STUDIES)}")
    return STUDIES[name]


# --------------------------------------------------------------------------------------------
# cost estimate


@dataclass(frozen=True)
class Throughput:
    """A measured training speed for the reference conv model (batch 64, one model per device).

    Parameters
    ----------
    device: what measured it (e.g. ``NVIDIA H100``, ``2-core x86-64 CPU``).
    steps_per_s: optimiser steps per second.
    eval_s: seconds to score one run with the paper preset's metric suite (0 if not measured).
    source: the command and document section where the number was measured.
    gpu: whether the number is a GPU's (the report says "GPU hours" only then).
    extra_eval_s: seconds of metrics outside that suite, by name, added for the runs that request
        them (the study's downstream tasks).
    model_steps_per_s: training speeds of models that differ from ``steps_per_s`` (FactorVAE's
        discriminator), by model name.
    """

    device: str
    steps_per_s: float
    eval_s: float
    source: str
    gpu: bool
    extra_eval_s: dict = field(default_factory=dict)
    model_steps_per_s: dict = field(default_factory=dict)


# Measured numbers only; the first GPU entry is used by default, else the first entry. How each number
# was derived from its measurement: docs/performance.md, "Design measurements behind the code".
THROUGHPUTS: list[Throughput] = [
    Throughput(
        device="NVIDIA H200 + 16 cores, K = 32 members per ensemble",
        steps_per_s=3215.6,
        model_steps_per_s={"factor_vae": 1344.8},
        eval_s=19.0,
        source=(
            "`bash benchmarks/gpu_check.sh layouts` and `paper` (benchmarks/bench_gpu.py rows k32_graph_bf16, "
            "k32_factor_vae_wide_cl_fp32; run_all.py --preset paper --steps 30000 --jobs 5 --threads 3), "
            "2026-12-04, docs/performance.md GPU engine; the downstream tasks' seconds are the 2-core CPU's "
            "(not measured on the GPU machine: an upper bound)"
        ),
        gpu=True,
        extra_eval_s={"downstream_gbt": 59.0, "downstream_logreg": 103.0},
    ),
    Throughput(
        device="2-core x86-64 CPU, 2 torch threads",
        steps_per_s=9.79,
        eval_s=324.0,
        source=(
            "`python -m benchmark train --model beta_vae --beta 4 --dataset dsprites --steps 600 --threads 2` "
            "(626.6 images/s, load 1.9, 2026-11-28) and `python benchmarks/bench_metrics.py --threads 2` "
            "(324 s per model); downstream tasks from `python -m benchmark evaluate --baseline pca --dataset "
            "dsprites --metrics irs downstream_gbt downstream_logreg` (59 s and 103 s); docs/performance.md, Metrics"
        ),
        gpu=False,
        extra_eval_s={"downstream_gbt": 59.0, "downstream_logreg": 103.0},
    ),
]


def default_throughput() -> Throughput | None:
    gpu = [t for t in THROUGHPUTS if t.gpu]
    return (gpu or THROUGHPUTS or [None])[0]


def throughput_for(gpu: bool) -> Throughput | None:
    """The first measured throughput of a GPU (``gpu=True``) or a CPU, or None."""
    return next((t for t in THROUGHPUTS if t.gpu == gpu), None)


def dry_run_report(
    specs: Sequence[Any], throughput: Throughput | None = None, *, title: str | None = None, finished: int = 0
) -> str:
    """The plan of a sweep as text: run counts and estimated device hours.

    Parameters
    ----------
    specs: ``RunSpec`` objects or their dicts.
    throughput: the measured speed to estimate with (default :func:`default_throughput`).
    title: a heading (e.g. the study's title).
    finished: how many of ``specs`` already have results (they cost nothing).

    Returns
    -------
    A multi-line report; hours = training steps / steps_per_s + runs * eval_s (+ the measured cost of
    metrics outside the paper suite that a run requests, and a second scoring pass for runs scored on
    the sampled representation too), for the runs that are not finished, one model per device (a GPU
    trains one small model at a time unless the
    ensemble trainer packs several).
    """
    dicts = [s if isinstance(s, dict) else s.to_dict() for s in specs]
    n = len(dicts)
    lines = []
    if title:
        lines.append(title)
    lines.append(
        f"runs planned: {n:,}" + (f" ({finished:,} already finished, {n - finished:,} to run)" if finished else "")
    )
    if not n:
        return "\n".join(lines)
    by_dataset = Counter(d["dataset"] for d in dicts)
    by_model = Counter(d["model"] for d in dicts)
    configs = len({(d["model"], tuple(sorted(d["params"].items()))) for d in dicts})
    seeds = len({d["seed"] for d in dicts})
    presets = sorted({d["preset"] for d in dicts})
    lines.append(
        f"  {len(by_dataset)} dataset(s) x {configs} model configuration(s) x {seeds} seed(s); "
        f"preset {', '.join(presets)}"
    )
    lines.append("  per dataset: " + ", ".join(f"{k} {v:,}" for k, v in by_dataset.items()))
    lines.append("  per model:   " + ", ".join(f"{k} {v:,}" for k, v in by_model.items()))
    todo = max(0, n - finished)
    steps = sum(int(d.get("train", {}).get("steps", 0) or 0) for d in dicts) * (todo / n)
    lines.append(f"  training steps to run: {steps:,.0f}")
    tp = throughput if throughput is not None else default_throughput()
    if tp is None:
        lines.append("  estimated hours: unknown (no measured throughput recorded; pass one to dry_run_report)")
        return "\n".join(lines)
    train_s = sum(
        int(d.get("train", {}).get("steps", 0) or 0) / tp.model_steps_per_s.get(d["model"], tp.steps_per_s)
        for d in dicts
    ) * (todo / n)
    # a run scored on several representations (mean and sampled) pays its scoring once per representation
    # (an upper bound: the codes are encoded once and reused)
    reps = [len(d.get("eval", {}).get("representations", ("mean",))) for d in dicts]
    extra = sum(
        r * sum(tp.extra_eval_s.get(m, 0.0) for m in d.get("eval", {}).get("metrics", ())) for r, d in zip(reps, dicts)
    ) + tp.eval_s * sum(r - 1 for r in reps)
    score_s = todo * tp.eval_s + extra * (todo / n)
    hours = (train_s + score_s) / 3600
    unit = "GPU hours" if tp.gpu else f"device hours ({tp.device})"

    def h(x):  # hours: whole above 10, one decimal below
        return f"{x:,.0f}" if x >= 10 else f"{x:.1f}"

    lines.append(
        f"  estimated {unit}: {h(hours)} ({hours / max(todo, 1):.2f} per run; {hours / 24:,.1f} days):"
        f" training {h(train_s / 3600)} h + scoring {h(score_s / 3600)} h"
    )
    speeds = "".join(f", {m} {v:,.1f}" for m, v in tp.model_steps_per_s.items())
    lines.append(
        f"  at {tp.steps_per_s:,.1f} steps/s{speeds} + {tp.eval_s:,.0f} s scoring per run"
        + (
            f" (+ {extra / n:,.0f} s for the sampled representation and metrics outside the paper suite)"
            if extra
            else ""
        )
        + f" on {tp.device}"
    )
    lines.append(f"  throughput source: {tp.source}")
    if not tp.gpu:
        lines.append("  a CPU throughput: these are hours on the device above, not GPU hours")
    return "\n".join(lines)
