"""`python -m late_mcp` runs the server, like the `late-mcp` console script."""

from late_mcp.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
