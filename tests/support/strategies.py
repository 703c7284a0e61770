"""Hypothesis strategies of what the ledger accepts, for the tests that generate input."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

from ledger import commands as c


def text(rule: c.TextRule, max_size: int = 40) -> st.SearchStrategy[str]:
    """Text ``rule`` takes (ledger/commands.py): characters of the allowed categories, at
    least one a letter or number, at most ``rule.max_length`` once in NFC."""
    extra = "".join(sorted(c.MULTILINE_CONTROLS)) if rule.multiline else ""
    allowed = st.characters(categories=sorted(c.TEXT_CATEGORIES), include_characters=extra)  # type: ignore[arg-type]
    visible = st.characters(categories=sorted(c.VISIBLE_CATEGORIES))  # type: ignore[arg-type]
    side = st.text(allowed, max_size=max(0, min(max_size, rule.max_length) - 1) // 2)
    joined = st.builds(lambda a, v, b: a + v + b, side, visible, side)
    return joined.filter(lambda s: len(unicodedata.normalize("NFC", s)) <= rule.max_length)
