"""Facts about the outside model formats, shared by the importer (frontends) and exporter (backends) of each.

Kept here so an exporter never reaches into an importer: both read the same table.
"""

# RTNeural's JSON model format (RTNeural's model_loader): the activation names its loader runs,
# and the layer "type" strings a file may hold.
RTNEURAL_ACTIVATIONS = ("tanh", "relu", "sigmoid", "softmax", "elu")
RTNEURAL_LAYER_TYPES = ("dense", "time-distributed-dense", "conv1d", "lstm", "gru", "prelu", "batchnorm",
                        "activation")

# The sample rate a format's files are made at when the file does not say (a file that states its rate
# wins). GuitarML's plugins (NeuralPi, Proteus, SmartAmp; CoreAudioML JSON) run their models at 44.1 kHz;
# AIDA-X files (RTNeural JSON with AIDA-X's keys) come from its trainer, configured for 48 kHz (the MOD
# Dwarf's rate). A "48k" / "44k" in the file name (TS-M1N3's model_ts9_48k_cond2.json) overrides both.
CONVENTIONAL_RATES = {"coreaudioml": (44100.0, "GuitarML's convention for CoreAudioML JSON"),
                      "aidax": (48000.0, "AIDA-X's convention")}
AIDAX_KEYS = ("in_skip", "in_gain", "out_gain", "input_batch", "output_batch")
# AIDA-X feeds its PARAM1 / PARAM2 knobs (0..1, default 0) as the inputs after the audio.
AIDAX_KNOB_DEFAULT = 0.0


def rate_from_name(name: str):
    """Return 48000.0 / 44100.0 when a file name says "48k" / "44k" (or "44.1k"), else None."""
    import re
    match = re.search(r"(?<![0-9])(48|44(?:\.1)?|96|88\.2)\s*k(?:hz)?(?![a-z])", str(name).lower())
    return None if match is None else {"48": 48000.0, "44": 44100.0, "44.1": 44100.0, "96": 96000.0,
                                       "88.2": 88200.0}[match.group(1)]
