"""The model IR: layers, the `.tinyrt` file, validation and the NumPy reference runner."""
from .layers import ACTIVATIONS, SPECS
from .model import FORMAT_VERSION, Layer, Model, load
from .passes import fold_batchnorm
from .reference import ReferenceRunner
from .validate import validate

__all__ = ["ACTIVATIONS", "SPECS", "FORMAT_VERSION", "Layer", "Model", "load", "fold_batchnorm",
           "ReferenceRunner", "validate"]
