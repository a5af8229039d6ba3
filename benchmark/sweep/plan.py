"""Plan a sweep: which runs exist, each with a stable id derived from its full config.

A run is (kind, model, hyperparameters, dataset, data source, seed, preset's training and evaluation
recipes). Its id is readable and unique: ``<model>[-<param><value>]-s<seed>-<hash10>``, where the
hash is SHA-256 of the canonical JSON of everything that changes its results. Where it runs (device,
data folder, threads) is recorded but not hashed, so a sweep resumes across machines.

Model grids: the AE is trained once per seed; ``vae`` is beta = 1; ``beta_vae`` takes every beta != 1
from ``--betas`` (beta = 1 *is* the VAE, so it is never trained twice); the other zoo models take
their own grids (``--gammas`` for factor_vae, ...). Baselines (ground truth, raw pixels, PCA, ICA,
untrained VAE) are runs too, so they are cached, resumed and aggregated exactly like models.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

from benchmark.errors import BenchmarkError
from benchmark.results.columns import fmt_value
from benchmark.sweep.presets import PRESETS, Preset

SPEC_VERSION = 1

# model -> (hyperparameter, command-line flag, default grid). Reference values from
# disentanglement_lib's unsupervised_study_v1 sweep.
MODEL_GRIDS: dict[str, tuple[str | None, str | None, tuple[float, ...]]] = {
    "ae": (None, None, ()),
    "vae": ("beta", None, (1.0,)),
    "beta_vae": ("beta", "--betas", (1.0, 4.0, 16.0)),
    "factor_vae": ("gamma", "--gammas", (10.0, 40.0)),
    "beta_tcvae": ("beta", "--tc-betas", (4.0, 6.0)),
    "annealed_vae": ("c_max", "--c-maxes", (5.0, 25.0)),
    "dip_vae_i": ("lambda_od", "--dip-lambdas", (1.0, 10.0)),
    "dip_vae_ii": ("lambda_od", "--dip-lambdas", (1.0, 10.0)),
}
BASELINES = ("ground_truth", "pixels", "pca", "ica", "untrained_vae")
DEFAULT_BASELINES = BASELINES

# Fields of a spec that say where/how it runs, not what it computes: kept out of the hash.
UNHASHED = ("run_id", "device", "data_dir", "threads")


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep (JSON-serialisable through :meth:`to_dict` / :meth:`from_dict`).

    Parameters
    ----------
    kind: ``model`` (trained) or ``baseline`` (a fixed representation, see :data:`BASELINES`).
    model: zoo model name (``ae``, ``vae``, ``beta_vae``, ...) or baseline name.
    params: the model's hyperparameters, e.g. ``{"beta": 4.0}``.
    dataset: registered dataset name.
    data_source: ``official`` or ``procedural`` (resolved at planning time, so the id says which).
    seed: model seed (training, initialisation, data stream) and the metric seed.
    preset: preset name.
    train: the training recipe (``TrainRecipe`` as a dict; empty for baselines that train nothing).
    eval: the evaluation recipe (``EvalRecipe`` as a dict).
    device, data_dir, threads: where it runs; not part of the id.
    run_id: derived; do not pass.
    """

    kind: str
    model: str
    params: dict
    dataset: str
    data_source: str
    seed: int
    preset: str
    train: dict
    eval: dict
    device: str = "auto"
    data_dir: str | None = None
    threads: int | None = None
    version: int = SPEC_VERSION
    run_id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_id", make_run_id(self.hashed_dict()))

    def hashed_dict(self) -> dict:
        """Everything that changes the run's results (what the id hashes)."""
        d = asdict(self)
        for k in UNHASHED:
            d.pop(k, None)
        return d

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        d = dict(d)
        rid = d.pop("run_id", None)
        spec = cls(**d)
        if rid and rid != spec.run_id:
            raise BenchmarkError(
                f"run config says id {rid} but hashes to {spec.run_id}; "
                "the config.json was edited or written by another version: delete that run folder"
            )
        return spec

    @property
    def label(self) -> str:
        """Human label: ``beta_vae beta=4``."""
        if not self.params:
            return self.model
        return self.model + " " + " ".join(f"{k}={fmt_value(v)}" for k, v in sorted(self.params.items()))


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def make_run_id(hashed: dict) -> str:
    """``<model>[-<param><value>...]-s<seed>-<first 10 hex of sha256(canonical json)>``."""
    h = hashlib.sha256(canonical_json(hashed).encode()).hexdigest()[:10]
    tag = "".join(f"-{k}{fmt_value(v)}" for k, v in sorted(hashed["params"].items()))
    return f"{hashed['model']}{tag}-s{hashed['seed']}-{h}"


def _check_grid(name: str, flag: str, values: Sequence[float], positive: bool = True) -> list[float]:
    out = []
    for v in values:
        v = float(v)
        if not (v == v) or v in (float("inf"), float("-inf")) or (positive and v <= 0) or (not positive and v < 0):
            raise BenchmarkError(
                f"{flag} value {v} is invalid; give {'positive' if positive else 'non-negative'} finite numbers"
            )
        if v not in out:
            out.append(v)
    return out


def model_grid(models: Sequence[str], grids: dict[str, Sequence[float]] | None = None) -> list[tuple[str, dict]]:
    """(model, params) pairs to train.

    Parameters
    ----------
    models: zoo model names (order kept; duplicates dropped).
    grids: per-flag values, keyed by hyperparameter flag (``"--betas"``, ``"--gammas"``, ...);
        missing flags use :data:`MODEL_GRIDS` defaults.

    Returns
    -------
    List of ``(model, params)``. beta = 1 from ``--betas`` becomes the ``vae`` run (once), whether
    or not ``vae`` is named, so beta = 1 is never trained twice.
    """
    grids = dict(grids or {})
    out: list[tuple[str, dict]] = []
    seen = set()

    def add(model: str, params: dict) -> None:
        key = (model, tuple(sorted(params.items())))
        if key not in seen:
            seen.add(key)
            out.append((model, params))

    for m in models:
        if m not in MODEL_GRIDS:
            raise BenchmarkError(f"unknown model {m!r}; choose from: {', '.join(MODEL_GRIDS)}")
        param, flag, default = MODEL_GRIDS[m]
        if m == "ae":
            add("ae", {})
        elif m == "vae":
            add("vae", {"beta": 1.0})
        else:
            values = _check_grid(m, flag, grids.get(flag, default) if grids.get(flag) is not None else default)
            for v in values:
                if m == "beta_vae" and v == 1.0:
                    add("vae", {"beta": 1.0})
                else:
                    add(m, {param: v})
    return out


def resolve_data_source(dataset: str, data_dir: str | None, source: str = "auto") -> str:
    """``official`` or ``procedural`` for ``dataset`` under the data root: :func:`benchmark.data.resolve_source`."""
    from benchmark.data import resolve_source

    return resolve_source(dataset, data_dir, source)


def plan(
    preset: Preset,
    *,
    models: Sequence[str] = ("ae", "vae", "beta_vae"),
    grids: dict[str, Sequence[float]] | None = None,
    seeds: Iterable[int] = (0,),
    dataset: str | None = None,
    data_source: str = "procedural",
    baselines: Sequence[str] = DEFAULT_BASELINES,
    device: str = "auto",
    data_dir: str | None = None,
) -> list[RunSpec]:
    """All runs of a sweep, in execution order (baselines first, then models, seed fastest).

    Parameters
    ----------
    preset: the protocol (``--steps`` already applied with :meth:`Preset.with_steps`).
    models, grids: see :func:`model_grid`.
    seeds: model / metric seeds.
    dataset: dataset name (default: the preset's).
    data_source: resolved source (:func:`resolve_data_source`).
    baselines: baseline representations to score (subset of :data:`BASELINES`).
    device, data_dir: recorded, not hashed.

    Returns
    -------
    A list of :class:`RunSpec` with distinct run ids.
    """
    seeds = list(dict.fromkeys(int(s) for s in seeds))
    if not seeds:
        raise BenchmarkError("no seeds given; pass --seeds 0 (or more)")
    if any(s < 0 for s in seeds):
        raise BenchmarkError(f"seeds must be >= 0, got {seeds}; pass non-negative integers to --seeds")
    for b in baselines:
        if b not in BASELINES:
            raise BenchmarkError(f"unknown baseline {b!r}; choose from: {', '.join(BASELINES)} (or 'none')")
    dataset = dataset or preset.dataset
    train = asdict(preset.train)
    ev = asdict(preset.eval)
    ev["metrics"] = list(ev["metrics"])
    ev_base = dict(ev, figures=False)
    specs: list[RunSpec] = []
    common = dict(dataset=dataset, data_source=data_source, preset=preset.name, device=device, data_dir=data_dir)
    for b in baselines:
        # Only the untrained network depends on the architecture; the other baselines train nothing.
        btrain = (
            {
                "architecture": train["architecture"],
                "num_latents": train["num_latents"],
                "likelihood": train["likelihood"],
            }
            if b == "untrained_vae"
            else {}
        )
        for s in seeds:
            specs.append(RunSpec(kind="baseline", model=b, params={}, seed=s, train=btrain, eval=ev_base, **common))
    for model, params in model_grid(models, grids):
        for s in seeds:
            specs.append(
                RunSpec(kind="model", model=model, params=dict(params), seed=s, train=train, eval=ev, **common)
            )
    ids = [s.run_id for s in specs]
    assert len(set(ids)) == len(ids), "run ids collide"
    return specs


def rerun_record(spec: RunSpec) -> dict:
    """What a result row needs to be rerun and read: ``rerun`` (the ``run_all.py`` flags that plan
    this run again, all but ``--seeds``, which a leaderboard row adds for its group; None for a run
    that no preset command replans, e.g. a study's) and ``smoke_test`` (the preset's scores are a
    smoke test)."""
    preset = PRESETS.get(spec.preset)
    if preset is None:
        return {"rerun": None, "smoke_test": None}
    parts = [f"--preset {spec.preset}", f"--dataset {spec.dataset}", f"--data-source {spec.data_source}"]
    models, baselines, grids, steps = [], [], {}, None
    if spec.kind == "baseline":
        baselines = [spec.model]
        parts += ["--models none", f"--baselines {spec.model}"]
    else:
        models = [spec.model]
        parts += [f"--models {spec.model}", "--baselines none"]
        param, flag, _ = MODEL_GRIDS.get(spec.model, (None, None, ()))
        if flag and param in spec.params:
            grids[flag] = [spec.params[param]]
            parts.append(f"{flag} {fmt_value(spec.params[param])}")
        if spec.train.get("steps") is not None and int(spec.train["steps"]) != preset.train.steps:
            steps = int(spec.train["steps"])
            parts.append(f"--steps {steps}")
    try:  # the flags are kept only if they plan this very run (same id)
        again = plan(
            preset.with_steps(steps),
            models=models,
            grids=grids,
            seeds=[spec.seed],
            dataset=spec.dataset,
            data_source=spec.data_source,
            baselines=baselines,
        )
    except BenchmarkError:
        again = []
    rerun = " ".join(parts) if [a.run_id for a in again] == [spec.run_id] else None
    return {"rerun": rerun, "smoke_test": preset.smoke_test}
