"""How MCP messages reach the server: stdio, and HTTP (streamable or SSE) behind its guard."""
