"""Finds the FAQ topics whose phrasings share the most words with a message.

The response selector (DIET) learnt the topics from short, one-question phrasings. A real
patient's message is often a story of several sentences; the selector's confidence then spreads
thin over every topic, and its first choice on the development set of real posts was right
about one time in four. Plain word overlap with each topic's phrasings (TF-IDF over lemmas, the
oldest well-tried retrieval measure) holds up on long text: fused with the selector it ranks
the right topic among the first three more often, and answers fewer questions with another
topic's answer (README, "Real patients' messages").

Everything here works on lemma strings, so it needs neither Rasa nor spaCy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

from sklearn.feature_extraction.text import TfidfVectorizer

Ranking = List[Tuple[str, float]]


@dataclass
class TopicIndex:
    """Each topic's phrasings, as one TF-IDF document of lemmas."""

    topics: List[str]
    vectorizer: TfidfVectorizer
    matrix: object  # scipy sparse matrix, one row a topic

    @classmethod
    def build(cls, phrasings: Mapping[str, Sequence[str]]) -> TopicIndex:
        topics = sorted(phrasings)
        # Sublinear term frequency: a word repeated in many phrasings of a topic counts, but
        # not in proportion, so a topic with more phrasings does not win by size alone.
        vectorizer = TfidfVectorizer(sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
        matrix = vectorizer.fit_transform([" ".join(phrasings[topic]) for topic in topics])
        return cls(topics, vectorizer, matrix)

    def similarities(self, lemmas: str) -> Dict[str, float]:
        """Cosine similarity of the message to every topic, 0 to 1."""
        scores = (self.vectorizer.transform([lemmas]) @ self.matrix.T).toarray()[0]  # type: ignore[attr-defined]
        return {topic: float(score) for topic, score in zip(self.topics, scores, strict=True)}


def fuse(selector: Mapping[str, float], lexical: Mapping[str, float], lexical_weight: float) -> Ranking:
    """Topics ranked by the weighted mean of the selector's confidence and the word overlap.

    Both are on a 0-1 scale, so the fused score is too, and the topic-confidence threshold
    (rasa_plugins/topic_confidence.py) applies to it. A topic missing from one side scores 0
    there."""
    weight = float(lexical_weight)
    scores = {
        topic: (selector.get(topic, 0.0) + weight * lexical.get(topic, 0.0)) / (1.0 + weight)
        for topic in set(selector) | set(lexical)
    }
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
