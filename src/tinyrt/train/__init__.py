"""Training guitar-effect models from paired audio: config, model, losses, trainer, metrics."""
import sys as _sys
import types as _types

from ..audio.metrics import esr, mse, pair_metrics, pre_emphasis, verdict
from .config import Config, DataConfig, LossConfig, ModelConfig, TrainConfig, config_from_dict, load_config
from .trainer import Trainer, TrainResult, train

__all__ = ["Config", "DataConfig", "LossConfig", "ModelConfig", "TrainConfig", "config_from_dict", "load_config",
           "esr", "mse", "pair_metrics", "pre_emphasis", "verdict", "TrainResult", "Trainer", "train"]
from .evaluate import evaluate, run_pairs  # noqa: E402

__all__ += ["evaluate", "run_pairs"]


class _TrainModule(_types.ModuleType):
    """This package, callable: ``tinyrt.train(config)`` is ``tinyrt.train.train(config)``."""

    def __call__(self, *args, **kwargs):
        """Return the TrainResult of train(*args, **kwargs)."""
        return train(*args, **kwargs)


_sys.modules[__name__].__class__ = _TrainModule
