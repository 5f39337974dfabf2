"""late-mcp benchmarks: `python -m benchmarks` writes benchmarks/results/latest.md (not shipped)."""
