"""Facts about the outside model formats, shared by the importer (frontends) and exporter (backends) of each.

Kept here so an exporter never reaches into an importer: both read the same table.
"""

# RTNeural's JSON model format (RTNeural's model_loader): the activation names its loader runs,
# and the layer "type" strings a file may hold.
RTNEURAL_ACTIVATIONS = ("tanh", "relu", "sigmoid", "softmax", "elu")
RTNEURAL_LAYER_TYPES = ("dense", "time-distributed-dense", "conv1d", "lstm", "gru", "prelu", "batchnorm",
                        "activation")
