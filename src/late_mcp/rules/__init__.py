"""Late's per-platform publishing rules as data, and the options each platform takes.

Pure code: no I/O. `check_target` finds every broken rule for one target, `parse_options` reads a
caller's options strictly, `platform_specific_data` turns them into Late's wire form, and `describe`
summarises one platform for a model.
"""

from late_mcp.rules.check import MediaKind, Problem, check_target
from late_mcp.rules.describe import describe, rule_count
from late_mcp.rules.options import PlatformOptions
from late_mcp.rules.parse import OptionsError, parse_options
from late_mcp.rules.platform_data import platform_specific_data

__all__ = [
    "MediaKind",
    "OptionsError",
    "PlatformOptions",
    "Problem",
    "check_target",
    "describe",
    "parse_options",
    "platform_specific_data",
    "rule_count",
]
