"""Analytics of the sandbox: published history with figures, best times and follower counts.

The seeded history stands for posts Late synced from the platforms (the analytics list calls them
external); posts published through the sandbox join it with figures of their own. Figures come from
a seeded random generator, so the same post always shows the same numbers. Mixed into `SandboxState`.
"""

from __future__ import annotations

import copy
import hashlib
import random
from datetime import UTC, date, datetime, timedelta

from late_mcp.sandbox.common import POST_URLS, Clock, Json, SandboxError, bad, check_platform, int_param, iso

ADDON_REQUIRED = "Analytics add-on required"
_TOPICS = (
    "Fresh sourdough out of the oven",
    "Behind the scenes with our team",
    "Weekend special: two for one",
    "How we pick our ingredients",
    "Customer story of the week",
    "New season, new colours",
    "Our top tips for beginners",
    "Thank you for 1,000 followers",
)
_METRICS = ("impressions", "reach", "likes", "comments", "shares", "saves", "clicks", "views")


def _rng(*parts: str) -> random.Random:
    return random.Random(int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:12], 16))


def figures(*seed: str) -> Json:
    """Believable, repeatable figures for one post on one platform."""
    rng = _rng(*seed)
    impressions = rng.randint(800, 12_000)
    likes = int(impressions * rng.uniform(0.02, 0.06))
    comments = int(impressions * rng.uniform(0.002, 0.01))
    shares = int(impressions * rng.uniform(0.001, 0.008))
    saves = int(impressions * rng.uniform(0.0, 0.004))
    data: Json = {
        "impressions": impressions,
        "reach": int(impressions * rng.uniform(0.65, 0.9)),
        "likes": likes,
        "comments": comments,
        "shares": shares,
        "saves": saves,
        "clicks": int(impressions * rng.uniform(0.005, 0.02)),
        "views": 0,
    }
    data["engagementRate"] = rate(data)
    return data


def rate(data: Json) -> float:
    engaged = sum(data[k] for k in ("likes", "comments", "shares", "saves"))
    return round(100 * engaged / data["impressions"], 2) if data["impressions"] else 0.0


def _media(post: Json) -> Json:
    """A post's media as the analytics list carries it: the items, and the first image (or a
    video's own thumbnail) as thumbnailUrl."""
    items = [{"type": m.get("type"), "url": m["url"]} for m in post.get("mediaItems") or [] if m.get("url")]
    if not items:
        return {}
    first = items[0]
    thumbnail = first["url"] if first["type"] in {"image", "gif"} else None
    return {
        "mediaItems": items,
        "mediaType": first["type"],
        **({"thumbnailUrl": thumbnail} if thumbnail else {}),
    }


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad(f"{field} must be a date like 2026-01-31 (got {value!r})") from None


class AnalyticsMixin:
    clock: Clock
    accounts: dict[str, Json]
    posts: dict[str, Json]
    history: dict[str, Json]
    analytics_addon: bool

    def _seed_history(self, now: datetime) -> None:
        """About 20 published posts per seeded account over the last 60 days, at varied hours."""
        n = 0
        for account in list(self.accounts.values()):
            rng = _rng("history", account["_id"])
            for k in range(20):
                hour = rng.choice((8, 9, 12, 17, 19))
                when = (now - timedelta(days=3 * k + 1)).replace(hour=hour, minute=0, second=0, microsecond=0)
                n += 1
                pid = f"65e{n:021x}"
                native = str(10**17 + rng.randrange(10**17))
                user = account["username"].replace(" ", "")
                self.history[pid] = {
                    "_id": pid,
                    "profileId": account["profileId"],
                    "accountId": account["_id"],
                    "platform": account["platform"],
                    "username": account["username"],
                    "content": f"{rng.choice(_TOPICS)} #{account['platform']}",
                    "publishedAt": iso(when),
                    "platformPostUrl": POST_URLS[account["platform"]].format(u=user, id=native),
                    "analytics": figures(pid),
                }

    def _analytics_rows(self) -> list[Json]:
        """History plus the sandbox's own published posts, each with per-platform figures."""
        rows = []
        for item in self.history.values():
            entry = {"platform": item["platform"], "status": "published", "accountId": item["accountId"],
                     "accountUsername": item["username"], "analytics": item["analytics"]}  # fmt: skip
            rows.append(
                {
                    "_id": item["_id"],
                    "content": item["content"],
                    "publishedAt": item["publishedAt"],
                    "status": "published",
                    "analytics": item["analytics"],
                    "platforms": [entry],
                    "platform": item["platform"],
                    "platformPostUrl": item["platformPostUrl"],
                    "isExternal": True,
                    "__profiles": [item["profileId"]],
                }
            )
        for post in self.posts.values():
            done = [e for e in post["platforms"] if e["status"] == "published"]
            if not done:
                continue
            entries = [self._entry(post, e) for e in done]
            total: Json = {k: sum(e["analytics"][k] for e in entries) for k in _METRICS}
            total["engagementRate"] = rate(total)
            rows.append(
                {
                    "_id": post["_id"],
                    "latePostId": post["_id"],
                    "content": post["content"],
                    "publishedAt": done[0].get("publishedAt") or post.get("publishedAt"),
                    "status": "published",
                    "analytics": total,
                    "platforms": entries,
                    "platform": entries[0]["platform"],
                    "platformPostUrl": done[0].get("platformPostUrl"),
                    "isExternal": False,
                    **_media(post),
                    "__profiles": post["__profiles"],
                }
            )
        return rows

    @staticmethod
    def _entry(post: Json, e: Json) -> Json:
        account = e["accountId"]
        data = figures(post["_id"], e["platform"])
        return {"platform": e["platform"], "status": "published", "accountId": account["_id"],
                "accountUsername": account["username"], "analytics": data}  # fmt: skip

    def _require_addon(self, status: int) -> None:
        if not self.analytics_addon:
            raise SandboxError(status, ADDON_REQUIRED)

    def _filtered(self, profile_id: str | None, platform: str | None) -> list[Json]:
        if platform and platform != "all":
            check_platform(platform)
        return [
            r
            for r in self._analytics_rows()
            if (not profile_id or profile_id == "all" or profile_id in r["__profiles"])
            and (not platform or platform == "all" or any(e["platform"] == platform for e in r["platforms"]))
        ]

    def analytics(self, q: dict[str, str]) -> Json:
        """GET /v1/analytics: one post (postId) or a page with overview."""
        self._require_addon(402)
        rows = self._filtered(q.get("profileId"), q.get("platform"))
        if q.get("postId"):
            found = [r for r in self._analytics_rows() if q["postId"] in (r["_id"], r.get("latePostId"))]
            if not found:
                raise SandboxError(404, "Post not found")
            one = {k: v for k, v in found[0].items() if not k.startswith("__")}
            return {"postId": one.pop("_id"), **one, "platformAnalytics": one.pop("platforms")}
        start, end = _day(q.get("fromDate"), "fromDate"), _day(q.get("toDate"), "toDate")
        rows = [
            r
            for r in rows
            if (start is None or r["publishedAt"][:10] >= start.isoformat())
            and (end is None or r["publishedAt"][:10] <= end.isoformat())
        ]
        if q.get("sortBy", "date") == "engagement":
            rows.sort(key=lambda r: rate(r["analytics"]) if r["analytics"]["impressions"] else 0.0)
        else:
            rows.sort(key=lambda r: r["publishedAt"])
        if q.get("order", "desc") == "desc":
            rows.reverse()
        page, limit = int_param(q.get("page"), "page", 1), int_param(q.get("limit"), "limit", 50, maximum=100)
        chunk = rows[(page - 1) * limit : page * limit]
        return {
            "overview": {
                "totalPosts": len(rows),
                "publishedPosts": len(rows),
                "scheduledPosts": 0,
                "lastSync": iso(self.clock()),
            },
            "posts": [{k: copy.deepcopy(v) for k, v in r.items() if not k.startswith("__")} for r in chunk],
            "pagination": {"page": page, "limit": limit, "total": len(rows), "pages": -(-len(rows) // limit)},
            "hasAnalyticsAccess": True,
        }

    def best_times(self, q: dict[str, str]) -> Json:
        """GET /v1/analytics/best-time: average engagement per (weekday, UTC hour), 0 = Monday."""
        self._require_addon(403)
        slots: dict[tuple[int, int], list[int]] = {}
        for r in self._filtered(q.get("profileId"), q.get("platform")):
            moment = datetime.fromisoformat(r["publishedAt"]).astimezone(UTC)
            a = r["analytics"]
            slots.setdefault((moment.weekday(), moment.hour), []).append(
                a["likes"] + a["comments"] + a["shares"] + a["saves"]
            )
        ranked = sorted(slots.items(), key=lambda kv: -sum(kv[1]) / len(kv[1]))
        return {
            "slots": [
                {
                    "day_of_week": d,
                    "hour": h,
                    "avg_engagement": round(sum(v) / len(v), 1),
                    "post_count": len(v),
                }
                for (d, h), v in ranked
            ]
        }

    def follower_stats(self, q: dict[str, str]) -> Json:
        """GET /v1/accounts/follower-stats: current followers and growth over the period."""
        self._require_addon(403)
        wanted = [a for a in (q.get("accountIds") or "").split(",") if a]
        chosen = [
            a
            for a in self.accounts.values()
            if (not wanted or a["_id"] in wanted)
            and (not q.get("profileId") or a["profileId"] == q["profileId"])
        ]
        accounts, stats = [], {}
        for a in chosen:
            rng = _rng("followers", a["_id"])
            start, growth = rng.randint(300, 20_000), rng.randint(-20, 600)
            accounts.append(
                {"_id": a["_id"], "platform": a["platform"], "username": a["username"],
                 "displayName": a["displayName"], "currentFollowers": start + growth, "growth": growth,
                 "growthPercentage": round(100 * growth / start, 2), "dataPoints": 30}
            )  # fmt: skip
            today = self.clock().date()
            stats[a["_id"]] = [
                {"date": (today - timedelta(days=29 - d)).isoformat(), "followers": start + growth * d // 29}
                for d in range(30)
            ]
        return {"accounts": accounts, "stats": stats, "granularity": q.get("granularity", "daily")}
