"""`late-mcp token create|list|revoke`: the token store from the command line.

`create` prints the token and nothing else on stdout (so `TOKEN=$(late-mcp token create bob)`
works); everything else goes to stderr. The Late key is not needed.
"""

from __future__ import annotations

import argparse
import sys
import time

from late_mcp.auth.stores import open_token_store
from late_mcp.auth.tokens import TokenError
from late_mcp.config.http import HttpSettings
from late_mcp.config.settings import ConfigError

EXIT_USAGE = 2


def _when(stamp: float | None) -> str:
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def run_token(args: argparse.Namespace) -> int:
    try:
        store = open_token_store(HttpSettings.from_env())
    except ConfigError as exc:
        print(f"late-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.token_command == "create":
            profiles = tuple(args.profile or ())
            token = store.create(args.name, profiles, args.read_only)
            print(token, flush=True)
            scope = f"profiles {', '.join(profiles)}" if profiles else "every profile"
            mode = "read-only" if args.read_only else "read and write"
            print(
                f"late-mcp: token {args.name!r} created ({scope}, {mode}); it is shown only now. "
                f"Clients send it as `Authorization: Bearer <token>`.",
                file=sys.stderr,
            )
        elif args.token_command == "revoke":
            store.revoke(args.name)
            print(f"late-mcp: token {args.name!r} revoked.", file=sys.stderr)
        else:
            tokens = store.list()
            if not tokens:
                print("No tokens yet. Create one: late-mcp token create NAME", file=sys.stderr)
            for info in tokens:
                scope = ",".join(info.profiles) or "all profiles"
                mode = "read-only" if info.read_only else "read-write"
                state = f"revoked {_when(info.revoked_at)}" if info.revoked_at else "active"
                print(f"{info.name}\t{scope}\t{mode}\tcreated {_when(info.created_at)}\t{state}")
    except TokenError as exc:
        print(f"late-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    return 0
