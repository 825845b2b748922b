"""WaveNet as an IR graph (the builder lives in ``tinyrt.ir.wavenet``, shared with the ``.nam`` exporter)."""
from ..ir.wavenet import (
    A2_PRESETS,
    PRESETS,
    LayerArray,
    PostHead,
    a2_arrays,
    act,
    preset_arrays,
    wavenet_arrays,
    wavenet_layers,
    wavenet_model,
)

__all__ = ["A2_PRESETS", "LayerArray", "PostHead", "PRESETS", "a2_arrays", "act", "preset_arrays", "wavenet_arrays",
           "wavenet_layers", "wavenet_model"]
