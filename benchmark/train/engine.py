"""Train one model: :func:`train`, the one-member case of :func:`benchmark.train.loop.train_members`.

Data path on CPU: the dataset's images stay one uint8 tensor; every step draws ``batch_size`` flat
indices uniformly with replacement (the reference's sampling over the complete factor grid) from a
seeded ``numpy.random.Generator`` and converts only that batch. On CUDA the indices and the noise
are drawn on the device and the whole step is replayed as a CUDA graph
(:mod:`benchmark.train.device_steps`). No DataLoader, no worker processes, no per-image Python.

Result folder (``out_dir``)::

    config.json         the run's flat config (model + hyperparameters + training settings + dataset info)
    checkpoint.pt       model, optimisers, step, stream state; atomic, every checkpoint_every steps and at the end
    train_log.csv       step, wall_s, images_per_s and the mean of every loss term since the previous row
    train_result.json   written when the run completes: final loss terms, speed, device, threads, engine

A killed run restarted with the same arguments continues from ``checkpoint.pt``; on CPU its final
weights are bitwise identical to an uninterrupted run (tested). A non-finite loss stops the run with
:class:`TrainingDiverged` naming the step and the last good checkpoint; nothing already written is
touched.
"""

from __future__ import annotations

from typing import Callable, Optional

from benchmark.train.config import TrainConfig
from benchmark.train.loop import TrainResult, train_members


def train(
    config: TrainConfig,
    dataset,
    out_dir,
    *,
    resume: bool = True,
    progress: bool = True,
    on_step: Optional[Callable[[int], None]] = None,
) -> TrainResult:
    """Train one model; resume from ``out_dir/checkpoint.pt`` if it exists.

    Parameters
    ----------
    config : TrainConfig
        Model, hyperparameters and training settings.
    dataset : GroundTruthDataset
        The data (its ``channels`` set the model's input channels).
    out_dir : path-like
        Result folder (created): config.json, checkpoint.pt, train_log.csv, train_result.json.
    resume : bool
        Continue from an existing checkpoint (default). False refuses to touch a folder that holds one.
    progress : bool
        Show a tqdm bar (loss, KL, images/s).
    on_step : callable, optional
        Called with the completed step count after every step (progress hooks, tests).

    Returns
    -------
    TrainResult
    """
    return train_members([config], dataset, [out_dir], resume=resume, progress=progress, on_step=on_step)[0]
