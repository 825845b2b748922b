"""Measuring real-time inference: callback latency distribution, load, deadline misses, memory."""
from .memory import MemorySampler, rss_bytes
from .profile import profile, profile_table, write_folded, write_speedscope
from .runner import bench, table, time_engine
from .stats import budget_ns, latency_stats

__all__ = ["MemorySampler", "rss_bytes", "bench", "table", "time_engine", "budget_ns", "latency_stats",
           "profile", "profile_table", "write_folded", "write_speedscope"]
