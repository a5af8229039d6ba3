"""Training engine: :func:`train` one model resumably, :func:`train_ensemble` many same-architecture models at once."""

from benchmark.train.config import TrainConfig
from benchmark.train.engine import train
from benchmark.train.loop import CHECKPOINT_FILE, CONFIG_FILE, LOG_FILE, RESULT_FILE, TrainingDiverged, TrainResult

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "train",
    "CHECKPOINT_FILE",
    "CONFIG_FILE",
    "LOG_FILE",
    "RESULT_FILE",
]
