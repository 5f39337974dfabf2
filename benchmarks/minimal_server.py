"""The smallest server on the same SDK: one tool, stdio. The floor for cold-start comparisons.

python benchmarks/cold_start.py --baseline
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("minimal")


@server.tool()
async def ping() -> str:
    """Answer pong."""
    return "pong"


if __name__ == "__main__":
    server.run("stdio")
