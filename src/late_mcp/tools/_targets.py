"""Which accounts a post goes to: account references resolved safely, and accounts shown by client.

A reference is an account id, `@username`, `platform:@username` or a bare platform name. A bare
platform name never picks a client silently: with more than one profile it needs `profile_id`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from weakref import WeakSet

from late_mcp.core.outside import quoted, word
from late_mcp.core.platforms import normalize_platform
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateError
from late_mcp.late.models import Account, Invite, Profile, ProfileRef, parse_timestamp
from late_mcp.tools._common import ToolInputError
from late_mcp.tools._together import both
from late_mcp.tools._views import View

log = logging.getLogger(__name__)


class AccountView(View):
    """An account as results show it: whose it is (the profile, i.e. the client) and its handle."""

    account_id: str
    platform: str
    username: str | None = None
    profile: str | None = None
    profile_id: str | None = None


@dataclass(frozen=True)
class Directory:
    """The connected accounts (of one profile, or all) and every profile, fetched together."""

    accounts: list[Account]
    profiles: list[Profile]
    by_id: dict[str, Account] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {a.id: a for a in self.accounts})

    def profile_name(self, profile_id: str | None) -> str | None:
        for profile in self.profiles:
            if profile.id == profile_id:
                return profile.name
        return None

    def named(self, account: Account) -> Account:
        """The account with its client's name: as Late sent it, else from the profiles list."""
        if account.profile_name is not None or account.profile_id is None:
            return account
        name = self.profile_name(account.profile_id)
        if name is None:
            return account
        return account.model_copy(update={"profile": ProfileRef(id=account.profile_id, name=name)})

    def view(self, account: Account) -> AccountView:
        name = (account.profile.name if account.profile else None) or self.profile_name(account.profile_id)
        return AccountView(
            account_id=account.id,
            platform=account.platform,
            username=account.username or account.display_name,
            profile=name,
            profile_id=account.profile_id,
        )

    def label(self, account: Account) -> str:
        """`instagram @acme ("Acme Bakery")`: the client's name quoted, as it comes from outside."""
        return f"{account.label()} ({self.whose(account)})"

    def whose(self, account: Account) -> str:
        """The account's client for prose: its quoted name, else its profile id."""
        view = self.view(account)
        return quoted(view.profile) if view.profile else word(view.profile_id or "no profile")


# Clients whose Late sent accounts' profileId as plain ids: they fetch the profile list alongside.
_PLAIN_PROFILE_IDS: WeakSet[LateClient] = WeakSet()


def _names_missing(accounts: Sequence[Account]) -> bool:
    return any(a.profile_name is None and a.profile_id is not None for a in accounts)


async def load_account_names(client: LateClient, profile_id: str | None = None) -> Directory:
    """Accounts with their clients' names, for showing them. Late may send each account's profile
    along (one request then) or only its id: then the profile list names them, fetched after the
    accounts the first time, and together with them from then on."""
    if client in _PLAIN_PROFILE_IDS:
        accounts, profiles = await both(lambda: client.list_accounts(profile_id), client.list_profiles)
        if not _names_missing(accounts):
            _PLAIN_PROFILE_IDS.discard(client)
        return Directory(accounts, profiles)
    accounts = await client.list_accounts(profile_id)
    if not _names_missing(accounts):
        return Directory(accounts, [])
    _PLAIN_PROFILE_IDS.add(client)
    return Directory(accounts, await client.list_profiles())


async def load_directory(client: LateClient, profile_id: str | None = None) -> Directory:
    """Accounts and every profile in two concurrent requests: what resolving references needs
    (a bare platform name is refused when there are several profiles)."""
    accounts, profiles = await both(lambda: client.list_accounts(profile_id), client.list_profiles)
    return Directory(accounts, profiles)


def _handle(account: Account) -> str:
    return (account.username or "").lstrip("@").lower()


def _grouped(directory: Directory, accounts: Sequence[Account]) -> str:
    """`"Acme Bakery" (prof_1): twitter @acme [acc_1]; "Nordic" (prof_2): …`."""
    groups: dict[str, list[str]] = {}
    for account in accounts:
        view = directory.view(account)
        key = f"{quoted(view.profile) if view.profile else '?'} ({word(view.profile_id or '?')})"
        groups.setdefault(key, []).append(f"{account.label()} [{word(account.id)}]")
    return "; ".join(f"{key}: {', '.join(items)}" for key, items in groups.items())


class NoAccountConnected(ToolInputError):
    """No account of `platform` is connected to the profile: `resolve_targets` adds open invites."""

    def __init__(self, message: str, *, platform: str, profile_id: str | None, scope: str) -> None:
        super().__init__(message)
        self.platform, self.profile_id, self.scope = platform, profile_id, scope


def _open_invites(invites: Sequence[Invite], platform: str, profile_id: str) -> list[Invite]:
    """Unused, unexpired invites for `platform` and the profile (checked here, whatever Late filtered)."""
    now = datetime.now(UTC)
    found = []
    for invite in invites:
        owner = invite.profile_id or (invite.profile.id if invite.profile else None)
        expires = parse_timestamp(invite.expires_at)
        unexpired = expires is None or expires > now
        if invite.platform == platform and owner == profile_id and not invite.is_used and unexpired:
            found.append(invite)
    return found


def _day(value: str | None) -> str:
    moment = parse_timestamp(value)
    return f"{moment.astimezone(UTC):%d %b %Y}" if moment else "an unknown date"


def _with_open_invites(refusal: NoAccountConnected, invites: Sequence[Invite]) -> str:
    """The refusal naming the open invites, so the client is not sent a second link."""
    platform = refusal.platform
    if len(invites) == 1:
        invite = invites[0]
        sent = f"An invite for {platform} was sent on {_day(invite.created_at)} and is still open"
        until, ids = f" (until {_day(invite.expires_at)}, invite_id {word(invite.id)})", "it"
    else:
        days = ", ".join(_day(i.created_at) for i in invites)
        sent = f"{len(invites)} invites for {platform} were sent ({days}) and are still open"
        until, ids = f" (invite_ids {', '.join(word(i.id) for i in invites)})", "them"
    return (
        f"No {platform} account is connected{refusal.scope}. {sent}{until}: wait for the client to "
        f"connect (then accounts_list), or invites_revoke {ids} and send a new one with invites_create."
    )


async def resolve_targets(
    client: LateClient, requested: Sequence[str], directory: Directory, profile_id: str | None
) -> list[Account]:
    """`resolve_accounts`; a refusal for a platform with no account names the open invites for
    it (one extra request, only then), so the client is not sent a second link."""
    try:
        return resolve_accounts(requested, directory, profile_id)
    except NoAccountConnected as refusal:
        invites = await _open_invites_for(client, refusal)
        if not invites:
            raise
        raise ToolInputError(_with_open_invites(refusal, invites)) from refusal


async def _open_invites_for(client: LateClient, refusal: NoAccountConnected) -> list[Invite]:
    """The open invites the refusal should name; none when they cannot be looked up."""
    if refusal.profile_id is None:
        return []
    try:
        listed = await client.list_invites(refusal.profile_id)
    except LateError as exc:  # the refusal stands without them
        log.info("open invites not looked up for the refusal: %s", exc.kind)
        return []
    return _open_invites(listed, refusal.platform, refusal.profile_id)


def resolve_accounts(requested: Sequence[str], directory: Directory, profile_id: str | None) -> list[Account]:
    """Map each reference to exactly one connected, active account, or refuse with the candidates."""
    chosen: dict[str, Account] = {}
    name = directory.profile_name(profile_id)
    scope = f" in profile {quoted(name) if name else word(profile_id)}" if profile_id else ""
    for item in requested:
        ref = item.strip()
        account = directory.by_id.get(ref)
        if account is None:
            platform_part, _, handle = ref.rpartition(":") if ":" in ref else ("", "", ref)
            if handle.startswith("@") or platform_part:
                account = _by_handle(ref, platform_part, handle, directory, scope)
            else:
                account = _by_platform(ref, directory, profile_id, scope)
        if not account.is_active:
            raise ToolInputError(
                f"Account {directory.label(account)} is disconnected or inactive; reconnect it "
                "(invites_create or accounts_connect_link) before posting to it."
            )
        chosen[account.id] = account
    return list(chosen.values())


def _by_handle(ref: str, platform_part: str, handle: str, directory: Directory, scope: str) -> Account:
    platform = None
    if platform_part:
        platform = normalize_platform(platform_part)
        if platform is None:
            raise ToolInputError(
                f"{ref!r}: {platform_part!r} is not a platform name. Use 'platform:@username', "
                "e.g. 'instagram:@acmebakery'."
            )
    wanted = handle.lstrip("@").lower()
    matches = [
        a for a in directory.accounts if _handle(a) == wanted and (platform is None or a.platform == platform)
    ]
    if not matches:
        raise ToolInputError(
            f"No connected account{scope} has the handle {ref!r}. Call accounts_list to see usernames "
            "and ids."
        )
    if len(matches) > 1:
        raise ToolInputError(
            f"{ref!r} matches {len(matches)} accounts: {_grouped(directory, matches)}. Use "
            "'platform:@username' or the account id."
        )
    return matches[0]


def _by_platform(ref: str, directory: Directory, profile_id: str | None, scope: str) -> Account:
    platform = normalize_platform(ref)
    if platform is None:
        raise ToolInputError(
            f"{ref!r} is not a connected account id{scope}, an @username or a platform name. Call "
            "accounts_list to see account ids and usernames."
        )
    matches = [a for a in directory.accounts if a.platform == platform]
    if profile_id is None and len(directory.profiles) > 1:
        candidates = _grouped(directory, matches) if matches else f"no {platform} account is connected"
        raise ToolInputError(
            f"'{ref}' does not say whose {platform} account: there are {len(directory.profiles)} "
            f"profiles (clients). Pass profile_id, or name the account as '{platform}:@username' or by id. "
            f"Candidates: {candidates}."
        )
    if not matches:
        only = directory.profiles[0].id if profile_id is None and len(directory.profiles) == 1 else None
        raise NoAccountConnected(
            f"No {platform} account is connected{scope}. Connect one with invites_create "
            "(the client's own account) or accounts_connect_link, then accounts_list.",
            platform=platform,
            profile_id=profile_id or only,
            scope=scope,
        )
    if len(matches) > 1:
        raise ToolInputError(
            f"'{ref}' matches {len(matches)} {platform} accounts{scope}: {_grouped(directory, matches)}. "
            "Name one as 'platform:@username' or by account id."
        )
    return matches[0]
