"""Fault figures: tool calls through a real MCP session against a misbehaving sandbox.

    python benchmarks/faults.py [--reads 5000] [--posts 1000] [--seed 1]

Reports reads succeeded/attempted at 20% injected transient faults (429 with Retry-After, 5xx,
connection resets, garbled bodies, answers lost after the request, slow answers), and posts
created upstream vs requested at 10% lost answers to posts_create. Retries wait milliseconds
here (the drill's settings) so the run is quick; the logic is the same as with real delays.
"""

from __future__ import annotations

import argparse
import logging
import time

import anyio

from drill import LOST_10, TRANSIENT_20, create_drill, read_drill


async def main(reads: int, posts: int, seed: int) -> None:
    started = time.perf_counter()
    read = await read_drill(calls=reads, seed=seed)
    injected = sum(v for k, v in read.faults.items() if k not in {"passed", "slow"})
    print(f"reads at 20% transient faults ({TRANSIENT_20}):")
    print(
        f"  {read.succeeded}/{read.attempted} succeeded ({read.success_ratio:.4%}); "
        f"{injected} faults injected over {sum(read.faults.values()) - read.faults['slow']} requests; "
        f"failures: {dict(read.failures) or 'none'}"
    )
    create = await create_drill(posts=posts, seed=seed + 1)
    print(f"posts_create at 10% lost answers ({LOST_10}):")
    print(
        f"  requested {create.requested_posts}, created upstream {create.created_posts}, "
        f"duplicates {create.duplicated_posts}, lost {create.lost_posts}, "
        f"answers lost {create.faults['lost']}, tool errors {dict(create.failures) or 'none'}"
    )
    mixed = await create_drill(
        posts=posts // 2, seed=seed + 2, faults="429=0.05,5xx=0.05,reset=0.05,malformed=0.05,lost=0.1"
    )
    print("posts_create at 30% mixed faults:")
    print(
        f"  requested {mixed.requested_posts}, created upstream {mixed.created_posts}, "
        f"duplicates {mixed.duplicated_posts}, lost {mixed.lost_posts}, "
        f"tool errors {dict(mixed.failures) or 'none'}"
    )
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=5000)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    anyio.run(main, args.reads, args.posts, args.seed)
