"""An in-process, stateful stand-in for the Late REST API, for trying late-mcp without an API key."""

from late_mcp.sandbox.app import create_sandbox_app
from late_mcp.sandbox.common import SandboxError
from late_mcp.sandbox.state import SandboxState

__all__ = ["SandboxError", "SandboxState", "create_sandbox_app"]
