"""tinyrt: small ML models from training to a hard real-time audio loop, proven to fit."""
from . import data, deploy, train  # tinyrt.train(config) trains, tinyrt.deploy(...) deploys
from .backends import Backend, backend, export
from .backends.c.cmodel import CModel
from .errors import BuildError, DependencyError, Error, FormatError, InputError, ModelError, UnsupportedError
from .frontends import from_file, from_torch
from .ir import Layer, Model
from .version import __version__


def load(path, **options) -> Model:
    """Return the IR of any model file tinyrt reads (.tinyrt, .nam, RTNeural or CoreAudioML JSON, a pickle)."""
    return from_file(path, **options)


def convert(estimator, name: str | None = None, features: str = "float32", form: str = "nodes", scale=None,
            profile: str = "portable") -> CModel:
    """Return the compiled C model (CModel) of a fitted scikit-learn estimator.

    ``features``: "float32" or "int16" (fixed point; ``scale`` per feature or one number, default
    from the model's thresholds, or from a pipeline's leading scaler). ``form``: "nodes" (compact
    node arrays) or "inline" (if/else code). The CModel runs the C library through scikit-learn's
    method names (predict, predict_proba, decision_function, score_samples), so agreement with the
    estimator can be checked in one line: ``convert(est).agreement(est, X)``.
    """
    from .frontends.sklearn import to_ir
    return CModel(to_ir(estimator, name), name, features=features, form=form, scale=scale, profile=profile)


__all__ = ["Backend", "backend", "export", "Error", "BuildError", "DependencyError", "FormatError",
           "InputError", "ModelError", "UnsupportedError", "from_file", "from_torch", "Layer", "Model",
           "load", "data", "deploy", "train", "convert", "CModel", "__version__"]
