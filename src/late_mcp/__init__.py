"""late-mcp: an MCP server for the Late social media API (getlate.dev)."""

__version__ = "0.1.0"
