"""The C back end: code generation, the in-process engine and the C harness."""
from . import blockgen as _blockgen
from .codegen import BLOCK_ENGINE, CCode, c_identifier, generate
from .engine import CBackend, export

__all__ = ["CCode", "c_identifier", "generate", "CBackend", "export"]

BLOCK_ENGINE.append(_blockgen.block_engine)
