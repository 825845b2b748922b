"""tinyrt: small ML models from training to a hard real-time audio loop, proven to fit."""
from .backends import Backend, backend, export
from .errors import (BuildError, DependencyError, Error, FormatError, InputError, ModelError,
                     UnsupportedError)
from .frontends import from_file, from_torch
from .ir import Layer, Model
from . import data, train  # noqa: E402  (tinyrt.train(config) trains; tinyrt.data holds the datasets)

__version__ = "0.1.0"

from .classic import CModel, convert  # noqa: E402  (after __version__, which the generated C carries)


def load(path, **options) -> Model:
    """Return the IR of any model file tinyrt reads (.tinyrt, .nam, RTNeural or CoreAudioML JSON)."""
    return from_file(path, **options)


__all__ = ["Backend", "backend", "export", "Error", "BuildError", "DependencyError", "FormatError",
           "InputError", "ModelError", "UnsupportedError", "from_file", "from_torch", "Layer", "Model",
           "load", "data", "train", "convert", "CModel", "__version__"]
