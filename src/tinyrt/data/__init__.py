"""Datasets of paired clean/processed audio, and tinyrt's built-in guitar material and pedals."""
from .effects import EFFECTS, apply_effect, distortion, fuzz, overdrive
from .example import write_example_data
from .pairs import Dataset, Pair, PairCheck, fragments, load_pairs, paired_notes
from .synth import guitar_notes, guitar_track, note_frequency, pluck

__all__ = ["EFFECTS", "apply_effect", "distortion", "fuzz", "overdrive", "write_example_data", "Dataset", "Pair",
           "PairCheck", "fragments", "load_pairs", "paired_notes", "guitar_notes", "guitar_track",
           "note_frequency", "pluck"]
