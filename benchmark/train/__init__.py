"""Training engine: :func:`train` one model resumably, :func:`train_ensemble` many same-architecture models at once."""
from benchmark.train.config import TrainConfig
from benchmark.train.engine import (CHECKPOINT_FILE, CONFIG_FILE, LOG_FILE, RESULT_FILE, TrainingDiverged, TrainResult,
                                    train)

__all__ = ["TrainConfig", "TrainResult", "TrainingDiverged", "train", "CHECKPOINT_FILE", "CONFIG_FILE", "LOG_FILE",
           "RESULT_FILE"]
