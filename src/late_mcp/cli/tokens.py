"""`late-mcp token create|list|revoke` and `late-mcp user add|list|remove`: the token store and
the OAuth store (users, grants) from the command line.

`create` prints the token and nothing else on stdout (so `TOKEN=$(late-mcp token create bob)`
works); everything else goes to stderr. `token list` shows OAuth grants (as oauth:ID) beside the
tokens, and `token revoke oauth:ID` ends a grant on every replica at once. The Late key is not needed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from late_mcp.auth.oauth_store import GRANT_CALLER, OAuthStore
from late_mcp.auth.stores import open_oauth_store, open_token_store
from late_mcp.auth.tokens import TokenError, TokenInfo
from late_mcp.config.http import HttpSettings
from late_mcp.config.settings import ConfigError
from late_mcp.core.outside import quoted

EXIT_USAGE = 2


def _when(stamp: float | None) -> str:
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def run_token(args: argparse.Namespace) -> int:
    try:
        http = HttpSettings.from_env()
        store = open_token_store(http)
        oauth = open_oauth_store(http)
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
        elif args.token_command == "revoke" and args.name.startswith(GRANT_CALLER):
            oauth.revoke_grant(args.name)
            print(f"late-mcp: OAuth grant {args.name!r} revoked.", file=sys.stderr)
        elif args.token_command == "revoke":
            store.revoke(args.name)
            print(f"late-mcp: token {args.name!r} revoked.", file=sys.stderr)
        else:
            _list(store.list(), oauth)
    except TokenError as exc:
        print(f"late-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
        oauth.close()
    return 0


def _list(tokens: list[TokenInfo], oauth: OAuthStore) -> None:
    """Tokens, then OAuth grants; one tab-separated line each."""
    grants = oauth.grants()
    if not tokens and not grants:
        print("No tokens yet. Create one: late-mcp token create NAME", file=sys.stderr)
    for info in tokens:
        scope = ",".join(info.profiles) or "all profiles"
        mode = "read-only" if info.read_only else "read-write"
        state = f"revoked {_when(info.revoked_at)}" if info.revoked_at else "active"
        print(f"{info.name}\t{scope}\t{mode}\tcreated {_when(info.created_at)}\t{state}")
    for grant in grants:
        scope = "all profiles" if grant.profiles is None else ",".join(grant.profiles)
        mode = "read-only" if grant.read_only else "read-write"
        state = f"revoked {_when(grant.revoked_at)}" if grant.revoked_at else "active"
        application = quoted(grant.application, 60)
        print(
            f"{grant.id}\t{scope}\t{mode}\tcreated {_when(grant.created_at)}\t{state}\t"
            f"OAuth: {application} for user {grant.user}, last used {_when(grant.last_used)}"
        )


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise TokenError("The two passwords differ; run the command again.")
    return first


def run_user(args: argparse.Namespace) -> int:
    try:
        oauth = open_oauth_store(HttpSettings.from_env())
    except ConfigError as exc:
        print(f"late-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.user_command == "add":
            oauth.add_user(args.name, _password(args.password_stdin))
            print(
                f"late-mcp: user {args.name!r} added; they sign in on the consent page when an "
                "application connects to this server's /mcp URL.",
                file=sys.stderr,
            )
        elif args.user_command == "remove":
            ended = oauth.remove_user(args.name)
            print(
                f"late-mcp: user {args.name!r} removed; {ended} grant(s) they approved ended.",
                file=sys.stderr,
            )
        else:
            users = oauth.list_users()
            if not users:
                print("No users yet. Add one: late-mcp user add NAME", file=sys.stderr)
            for name, created in users:
                print(f"{name}\tadded {_when(created)}")
    except TokenError as exc:
        print(f"late-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        oauth.close()
    return 0
