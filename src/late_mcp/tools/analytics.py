"""How posts did: per-post figures, best times, follower counts and a period report for a client.

All of it needs Late's Analytics add-on; without it each tool says so (see _addons)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult
from pydantic import Field

from late_mcp.core.toolsets import Domain
from late_mcp.late.client import LateClient
from late_mcp.late.insights import AnalyticsPost, Metrics
from late_mcp.tools._addons import needing_addon
from late_mcp.tools._common import OptionalProfileId, PlatformFilter, app, ok, plural, tool
from late_mcp.tools._views import View

ADDON = "Analytics"
NEEDS = "analytics_* tools and accounts_followers"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # best-time counts 0 = Monday
Day = Annotated[date | None, Field(description="YYYY-MM-DD.")]


class Figures(View):
    impressions: int = 0
    reach: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    clicks: int = 0
    engagement_rate: float = 0.0


class PostFigures(Figures):
    id: str
    platform: str | None = None
    published_at: str | None = None
    text: str | None = None
    url: str | None = None
    thumbnail: str | None = None


def figures(m: Metrics) -> Figures:
    return Figures(**m.model_dump(include=set(Figures.model_fields)))


def post_row(post: AnalyticsPost) -> PostFigures:
    names = ",".join(dict.fromkeys(p.platform for p in post.platforms if p.platform)) or post.platform
    text = (post.content or "")[:80] or None
    return PostFigures(
        id=post.id,
        platform=names,
        published_at=post.published_at,
        text=text,
        url=post.platform_post_url,
        thumbnail=post.thumbnail,
        **figures(post.analytics).model_dump(),
    )


async def fetch_posts(
    client: LateClient, params: dict[str, str | int | None], pages: int
) -> list[AnalyticsPost]:
    """Up to `pages` pages of Late's analytics list."""
    found: list[AnalyticsPost] = []
    for page in range(1, pages + 1):
        result = await needing_addon(client.analytics({**params, "page": page}), ADDON, NEEDS)
        found += result.posts
        if page >= result.pagination.pages:
            break
    return found


class PostsResult(View):
    posts: list[PostFigures]
    total: int


@tool(Domain.ANALYTICS, "read", touches={"profile": "profile_id"})
async def analytics_posts(
    ctx: Context,
    profile_id: OptionalProfileId = None,
    platform: PlatformFilter = None,
    from_date: Day = None,
    to_date: Day = None,
    sort: Annotated[
        Literal["date", "engagement"], Field(description="Newest or most engaging first.")
    ] = "date",
    limit: Annotated[int, Field(ge=1, le=100)] = 10,
) -> CallToolResult:
    """Published posts with impressions, reach, likes, comments, shares, clicks and engagement
    rate (%). For a client summary use analytics_report."""
    params: dict[str, str | int | None] = {
        "profileId": profile_id,
        "platform": platform,
        "fromDate": from_date.isoformat() if from_date else None,
        "toDate": to_date.isoformat() if to_date else None,
        "sortBy": sort,
        "limit": limit,
        "page": 1,
    }
    page = await needing_addon(app(ctx).client.analytics(params), ADDON, NEEDS)
    rows = [post_row(p) for p in page.posts]
    best = max(rows, key=lambda r: r.engagement_rate, default=None)
    summary = f"{plural(len(rows), 'post')} of {page.pagination.total}"
    if best is not None:
        summary += f"; highest engagement {best.engagement_rate}% ({best.platform}, post {best.id})"
    return ok(ctx, summary + ".", PostsResult(posts=rows, total=page.pagination.total))


class BestTime(View):
    day: str
    hour_utc: int
    avg_engagement: float
    posts: int


class BestTimesResult(View):
    slots: list[BestTime]


@tool(Domain.ANALYTICS, "read", touches={"profile": "profile_id"})
async def analytics_best_times(
    ctx: Context, profile_id: OptionalProfileId = None, platform: PlatformFilter = None
) -> CallToolResult:
    """Weekday and hour (UTC) whose past posts got the most engagement, best first. Convert to
    the profile's zone before setting queue slots."""
    params = {"profileId": profile_id, "platform": platform}
    result = await needing_addon(app(ctx).client.best_times(params), ADDON, NEEDS)
    ranked = sorted(result.slots, key=lambda s: s.avg_engagement, reverse=True)[:10]
    slots = [
        BestTime(
            day=WEEKDAYS[s.day_of_week % 7],
            hour_utc=s.hour,
            avg_engagement=s.avg_engagement,
            posts=s.post_count,
        )
        for s in ranked
    ]
    top = ", ".join(f"{s.day} {s.hour_utc:02d}:00 UTC" for s in slots[:3]) or "no published posts yet"
    return ok(ctx, f"Best times: {top}.", BestTimesResult(slots=slots))
