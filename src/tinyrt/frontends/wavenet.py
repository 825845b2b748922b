"""WaveNet as an IR graph (the builder lives in ``tinyrt.ir.wavenet``, shared with the ``.nam`` exporter)."""
from ..ir.wavenet import (
    PRESETS,
    LayerArray,
    PostHead,
    act,
    preset_arrays,
    wavenet_arrays,
    wavenet_layers,
    wavenet_model,
)

__all__ = ["LayerArray", "PostHead", "PRESETS", "act", "preset_arrays", "wavenet_arrays", "wavenet_layers",
           "wavenet_model"]
