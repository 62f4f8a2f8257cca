"""Plain-words explanations of each red-flag category (red_flags/categories.yml)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict

import yaml

from red_flags.contract import UNSPECIFIED, URGENT

CATEGORIES_FILE = Path(__file__).with_name("categories.yml")


@functools.cache
def explanations() -> Dict[str, Dict[str, str]]:
    """{level: {category: text}}, read once."""
    raw = yaml.safe_load(CATEGORIES_FILE.read_text(encoding="utf-8"))
    return {level: {name: " ".join(str(text).split()) for name, text in items.items()} for level, items in raw.items()}


def explain(level: str, category: str) -> str:
    return explanations().get(level, {}).get(category, "")


def tier_of(category: str) -> str:
    """The tier (emergency, urgent or check) a category belongs to; URGENT when unknown."""
    for level, categories in explanations().items():
        if category in categories and category != UNSPECIFIED:
            return level
    return URGENT
