"""Train many same-architecture models at once: :func:`train_ensemble`.

A beta grid times seeds shares one architecture, and one small model at batch 64 leaves a GPU
mostly idle. The members' parameters are stacked (:class:`benchmark.train.stack.MemberStack`) and
one vmapped forward/backward per step runs all of them; on CUDA the whole step is one CUDA graph.
Each member keeps its own hyperparameters, seed, data stream, noise stream, CSV log and checkpoint:
members are initialised, fed and noised exactly as :func:`benchmark.train.train` would do it
alone, and Adam is elementwise, so each member follows its solo trajectory to float tolerance
(tested). Member folders have the single-model layout, so any member can later be resumed or
extended alone.

Limits: members must share the architecture, latent size, batch size, optimiser settings, steps
and logging intervals, and one loss (a VAE joins a beta-VAE group as beta = 1); the conv models
run without channels_last in a stack; a member whose loss becomes non-finite stops the whole
ensemble (its error names the member; rerun that member alone).
"""

from __future__ import annotations

from typing import Callable, Optional

from benchmark.train.config import TrainConfig
from benchmark.train.loop import TrainResult, train_members


def train_ensemble(
    configs: list[TrainConfig],
    dataset,
    out_dirs: list,
    *,
    progress: bool = True,
    on_step: Optional[Callable[[int], None]] = None,
) -> list[TrainResult]:
    """Train ``configs`` (same architecture; own hyperparameters and seeds) together.

    Parameters
    ----------
    configs : list of TrainConfig
        Members; they may differ only in ``params`` values, ``seed`` and model names whose losses
        coincide.
    dataset : GroundTruthDataset
        Shared data (one uint8 copy on the device); each member draws its own batches.
    out_dirs : list of path-like
        One result folder per member, same layout as :func:`benchmark.train.train`'s.
    progress : bool
        One tqdm bar for the ensemble (images/s counts all members).
    on_step : callable, optional
        Called with the completed step count after every step.

    Returns
    -------
    list of TrainResult, one per member.
    """
    return train_members(configs, dataset, out_dirs, progress=progress, on_step=on_step)
