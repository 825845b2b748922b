"""Audio classification from labelled clips to a proven C chain (issue 14's pipeline).

``train_classifier(load_config("cfg.toml"), out)`` (the CLI: ``tinyrt classify train cfg.toml``) synthesises
or loads labelled clips, cuts onset-aligned or sliding windows, computes tinyrt's C-parity log-mel, augments,
trains a small CNN in PyTorch (and a RandomForest and an MLP on the same features), converts the CNN to the
IR (conv2d, pool2d, batch-norm folded), generates the C chain ``audio window -> log-mel -> CNN ->
probabilities``, proves it against PyTorch and writes the report. ``classifier_chain(model_or_path)`` gives
the chain of a trained model: ``files()``, ``predict(window)``.
"""
from .chain import Chain, classifier_chain, spec_of
from .config import ClassifyConfig, config_from_dict, load_config
from .features import FeatureSpec, patch, patches
from .pipeline import ClassifyResult, train_classifier

__all__ = ["Chain", "ClassifyConfig", "ClassifyResult", "FeatureSpec", "classifier_chain", "config_from_dict",
           "load_config", "patch", "patches", "spec_of", "train_classifier"]
