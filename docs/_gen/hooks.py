"""MkDocs hooks for this site.

Code fences may carry a second word after the language (```` ```python fallback ````): it names a block
that a dedicated test runs against real servers (tests/test_docs.py runs only the bare ```` ```python ````
blocks). The renderer takes the language alone.
"""

from __future__ import annotations

import re
from typing import Any

_TAGGED_FENCE = re.compile(r"^```(\w+) [\w-]+$", flags=re.MULTILINE)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return _TAGGED_FENCE.sub(r"```\1", markdown)
