"""Training guitar-effect models from paired audio: config, model, losses, trainer, metrics."""
from .config import Config, DataConfig, LossConfig, ModelConfig, TrainConfig, config_from_dict, load_config
from .metrics import esr, mse, pair_metrics, pre_emphasis, verdict
from .trainer import TrainResult, Trainer, train

__all__ = ["Config", "DataConfig", "LossConfig", "ModelConfig", "TrainConfig", "config_from_dict", "load_config",
           "esr", "mse", "pair_metrics", "pre_emphasis", "verdict", "TrainResult", "Trainer", "train"]
from .evaluate import evaluate, run_pairs  # noqa: E402

__all__ += ["evaluate", "run_pairs"]
