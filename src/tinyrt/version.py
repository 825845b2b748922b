"""The tinyrt version, written into every generated file and model it saves."""
__version__ = "0.1.0"
