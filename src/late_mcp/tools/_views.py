"""`View`: the base of what a tool answers (the structuredContent of its result)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class View(BaseModel):
    """A tool's answer. Its validator and serializer are built when it is first used, not when its
    module is imported: most tools do not run in a given session, and every session pays for start-up."""

    model_config = ConfigDict(defer_build=True)
