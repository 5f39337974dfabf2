"""The command line: `late-mcp` (serve), `late-mcp call`, `late-mcp token`, `late-mcp doctor`."""
