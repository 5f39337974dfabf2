"""analytics_report: a client's period in a few lines, per platform, with totals that add up and the
change against the period before."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.toolsets import Domain
from late_mcp.late.insights import AnalyticsPost, Metrics
from late_mcp.tools._common import ProfileId, ToolInputError, app, ok, plural, tool
from late_mcp.tools._views import View
from late_mcp.tools.analytics import Figures, PostFigures, fetch_posts, post_row

SUMMED = ("impressions", "reach", "likes", "comments", "shares", "clicks")
MAX_DAYS = 366
MAX_PAGES = 20


class Totals(Figures):
    posts: int = 0

    def add(self, m: Metrics) -> None:
        self.posts += 1
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + getattr(m, name))

    def finish(self, engaged: int) -> Totals:
        """Engagement rate over the whole group: (likes + comments + shares + saves) / impressions."""
        self.engagement_rate = round(100 * engaged / self.impressions, 2) if self.impressions else 0.0
        return self


class PlatformRow(Totals):
    platform: str


class Report(View):
    profile_id: str
    period: str
    previous: str
    totals: Totals
    change_pct: dict[str, float | None]
    platforms: list[PlatformRow]
    top_posts: list[PostFigures]
    previous_totals: Totals  # the period just before, summed the same way
    previous_platforms: list[PlatformRow]


def _engaged(m: Metrics) -> int:
    return m.likes + m.comments + m.shares + m.saves


def summarise(posts: list[AnalyticsPost]) -> tuple[Totals, list[PlatformRow]]:
    """Per platform (one entry per account a post went to) and the totals, summed from those rows."""
    rows: dict[str, PlatformRow] = {}
    engaged: dict[str, int] = {}
    for post in posts:
        entries = [(p.platform or "?", p.analytics) for p in post.platforms] or [
            (post.platform or "?", post.analytics)
        ]
        for platform, metrics in entries:
            rows.setdefault(platform, PlatformRow(platform=platform)).add(metrics)
            engaged[platform] = engaged.get(platform, 0) + _engaged(metrics)
    ordered = sorted(rows.values(), key=lambda r: r.impressions, reverse=True)
    for row in ordered:
        row.finish(engaged[row.platform])
    totals = Totals(posts=sum(r.posts for r in ordered))
    for name in SUMMED:
        setattr(totals, name, sum(getattr(r, name) for r in ordered))
    return totals.finish(sum(engaged.values())), ordered


def _change(now: float, before: float) -> float | None:
    return round(100 * (now - before) / before, 1) if before else None


@tool(Domain.ANALYTICS, "read", touches={"profile": "profile_id"}, app="report")
async def analytics_report(
    profile_id: ProfileId,
    from_date: Annotated[date, Field(description="First day, YYYY-MM-DD.")],
    to_date: Annotated[date, Field(description="Last day, YYYY-MM-DD.")],
    ctx: Context,
) -> CallToolResult:
    """A client's results for a period, ready to hand over: totals and engagement rate per
    platform, top 3 posts, and % change against the period just before."""
    if to_date < from_date:
        raise ToolInputError(f"to_date {to_date} is before from_date {from_date}; swap them.")
    days = (to_date - from_date).days + 1
    if days > MAX_DAYS:
        raise ToolInputError(f"The period has {days} days; a report covers at most {MAX_DAYS}.")
    prev_to = from_date - timedelta(days=1)
    prev_from = prev_to - timedelta(days=days - 1)
    client = app(ctx).client

    def query(start: date, end: date) -> dict[str, str | int | None]:
        return {"profileId": profile_id, "fromDate": start.isoformat(), "toDate": end.isoformat(),
                "sortBy": "date", "limit": 100}  # fmt: skip

    posts = await fetch_posts(client, query(from_date, to_date), MAX_PAGES)
    earlier = await fetch_posts(client, query(prev_from, prev_to), MAX_PAGES)
    totals, platforms = summarise(posts)
    before, before_platforms = summarise(earlier)
    change = {name: _change(getattr(totals, name), getattr(before, name)) for name in ("posts", *SUMMED)}
    change["engagement_rate"] = _change(totals.engagement_rate, before.engagement_rate)
    top = sorted(posts, key=lambda p: _engaged(p.analytics), reverse=True)[:3]
    report = Report(
        profile_id=profile_id,
        period=f"{from_date}..{to_date}",
        previous=f"{prev_from}..{prev_to}",
        totals=totals,
        change_pct=change,
        platforms=platforms,
        top_posts=[post_row(p) for p in top],
        previous_totals=before,
        previous_platforms=before_platforms,
    )
    moved = change["impressions"]
    trend = f", impressions {moved:+.1f}% vs previous period" if moved is not None else ""
    summary = (
        f"{from_date}..{to_date}: {plural(totals.posts, 'post')} on {plural(len(platforms), 'platform')}, "
        f"{totals.impressions} impressions, {totals.engagement_rate}% engagement{trend}."
    )
    return ok(ctx, summary, report)
