"""The MCP server: building it from the tools, access checks, tool schemas and the client log."""
