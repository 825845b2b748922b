"""Front ends: importers that turn a trained model from elsewhere into the IR."""
from __future__ import annotations

from pathlib import Path

from ..errors import FormatError
from ..files import read_json
from ..ir import Model
from ..ir import load as load_tinyrt


def from_torch(module, example_input=None, **options) -> Model:
    """Return the IR of a PyTorch module (nn.Sequential stacks, LSTM/GRU/Linear/Conv1d, tinyrt models)."""
    from .torch import from_torch as convert
    return convert(module, example_input, **options)


def from_file(path, **options) -> Model:
    """Return the IR of a model file: .tinyrt, Neural Amp Modeler .nam, RTNeural or CoreAudioML JSON,
    SmartGuitarAmp WaveNet JSON, a PyTorch state dict in JSON (RTNeural's ``*_torch.json``), or a
    fitted scikit-learn estimator pickled (.pkl, .pickle, .joblib; only load pickles you trust).

    Options go to the importer of the detected format (for .nam: ``linear_order``; for a state dict:
    ``activations`` and ``dilations``, dicts keyed by module name).
    """
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"{path}: no such file.")
    if path.suffix == ".tinyrt":
        return load_tinyrt(path)
    if path.suffix in (".pkl", ".pickle", ".joblib"):
        from .sklearn import from_sklearn_file
        return from_sklearn_file(path)
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise FormatError(f"{path}: the JSON is not an object, so it is not a model file.")
    if "architecture" in doc and "weights" in doc:
        from .nam import from_nam
        return from_nam(doc, name=path.stem, where=str(path), **options)
    if "model_data" in doc and "state_dict" in doc:
        from .coreaudioml import from_coreaudioml
        return from_coreaudioml(doc, name=path.stem, where=str(path))
    if "layers" in doc and "in_shape" in doc:
        from .rtneural import from_rtneural
        return from_rtneural(doc, name=path.stem, where=str(path))
    if "variables" in doc and "residual_channels" in doc:
        from .smartamp import from_smartamp
        return from_smartamp(doc, name=path.stem, where=str(path))
    from .torch_state import from_torch_state, looks_like_state_dict
    if looks_like_state_dict(doc):
        return from_torch_state(doc, name=path.stem, where=str(path), **options)
    raise FormatError(f"{path}: is not a model format tinyrt reads (.tinyrt, .nam, RTNeural JSON "
                      f"with 'in_shape'/'layers', CoreAudioML JSON with 'model_data'/'state_dict', "
                      f"SmartGuitarAmp WaveNet JSON, a PyTorch state dict as RTNeural's *_torch.json, a "
                      f"scikit-learn .pkl/.joblib).")


__all__ = ["from_torch", "from_file"]
