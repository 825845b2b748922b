"""The C back end: code generation, the in-process engine and the C harness."""
from .codegen import CCode, c_identifier, generate
from .engine import CBackend, export

__all__ = ["CCode", "c_identifier", "generate", "CBackend", "export"]
