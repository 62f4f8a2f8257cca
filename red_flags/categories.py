"""Plain-words explanations of each red-flag category (red_flags/categories.yml)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict

import yaml

CATEGORIES_FILE = Path(__file__).with_name("categories.yml")


@functools.cache
def explanations() -> Dict[str, Dict[str, str]]:
    """{level: {category: text}}, read once."""
    raw = yaml.safe_load(CATEGORIES_FILE.read_text(encoding="utf-8"))
    return {level: {name: " ".join(str(text).split()) for name, text in items.items()} for level, items in raw.items()}


def explain(level: str, category: str) -> str:
    return explanations().get(level, {}).get(category, "")
