"""The FAQ knowledge base: one YAML file per source article in this folder.

Staff edit the YAML files; ``python -m knowledge.generate`` turns them into Rasa training
data (``data/faq/``). The action server reads topic titles from here too.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from clinic.details import PLACEHOLDERS

KNOWLEDGE_DIR = Path(__file__).parent
TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]*$")
PLACEHOLDER = re.compile(r"{([^{}]*)}")
MIN_QUESTIONS = 10
MAX_TITLE_LENGTH = 40


class KnowledgeError(ValueError):
    """A knowledge file breaks one of the rules staff are told about in the README."""


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    questions: Tuple[str, ...]
    answer: str
    source: Optional[str]
    follow_up: Optional[str]

    @property
    def canonical_question(self) -> str:
        """The first phrasing: what a button for this topic sends."""
        return self.questions[0]


def _topic_from(entry: dict, source: Optional[str], file_name: str) -> Topic:
    topic_id = str(entry.get("id", ""))
    where = f"{file_name}, topic {topic_id or '?'}"
    if not TOPIC_ID.match(topic_id):
        raise KnowledgeError(f"{where}: id must be lower_case_with_underscores")
    title = str(entry.get("title") or "").strip()
    if not title or len(title) > MAX_TITLE_LENGTH:
        raise KnowledgeError(f"{where}: title must be 1-{MAX_TITLE_LENGTH} characters")
    questions = tuple(str(q).strip() for q in entry.get("questions") or [] if str(q).strip())
    if len(set(q.lower() for q in questions)) < MIN_QUESTIONS:
        raise KnowledgeError(f"{where}: needs at least {MIN_QUESTIONS} different questions")
    answer = " ".join(str(entry.get("answer") or "").split())
    if not answer:
        raise KnowledgeError(f"{where}: answer is empty")
    unknown = set(PLACEHOLDER.findall(answer)) - set(PLACEHOLDERS)
    if unknown or answer.count("{") != answer.count("}"):
        raise KnowledgeError(f"{where}: curly braces are only for clinic details: {', '.join(PLACEHOLDERS)}")
    return Topic(
        id=topic_id,
        title=title,
        questions=questions,
        answer=answer,
        source=source,
        follow_up=entry.get("follow_up"),
    )


def load_topics(directory: Path = KNOWLEDGE_DIR) -> List[Topic]:
    """Reads and checks every knowledge file, in file-name order."""
    topics: List[Topic] = []
    for path in sorted(directory.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        source = content.get("article")
        for entry in content.get("topics") or []:
            topics.append(_topic_from(entry, source, path.name))
    _check_across_topics(topics)
    return topics


def _check_across_topics(topics: List[Topic]) -> None:
    ids = [topic.id for topic in topics]
    duplicates = sorted({topic_id for topic_id in ids if ids.count(topic_id) > 1})
    if duplicates:
        raise KnowledgeError(f"topic ids used twice: {', '.join(duplicates)}")
    owner: Dict[str, str] = {}
    for topic in topics:
        for question in topic.questions:
            previous = owner.setdefault(question.lower(), topic.id)
            if previous != topic.id:
                raise KnowledgeError(f"question {question!r} is in both {previous} and {topic.id}")
        if topic.follow_up and topic.follow_up not in ids:
            raise KnowledgeError(f"{topic.id}: follow_up {topic.follow_up!r} is not a topic")


@functools.cache
def topics_by_id() -> Dict[str, Topic]:
    return {topic.id: topic for topic in load_topics()}
