"""Finds the FAQ topics whose phrasings share the most words, or the most meaning, with a message.

The response selector (DIET) learnt the topics from short, one-question phrasings. A real
patient's message is often a story of several sentences; the selector's confidence then spreads
thin over every topic, and its first choice on the development set of real posts was right
about one time in four. Plain word overlap with each topic's phrasings (TF-IDF over lemmas, the
oldest well-tried retrieval measure) holds up on long text: fused with the selector it ranks
the right topic among the first three more often, and answers fewer questions with another
topic's answer (README, "Real patients' messages").

Words say the same thing in other words too ("my lower back locks up" for a spasm): each
topic's centroid in a pretrained word-embedding space (nlp/word_embeddings.py) is a third
signal, fused with the other two.

Everything here works on lemma strings and vectors, so it needs neither Rasa nor spaCy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

Ranking = List[Tuple[str, float]]
# One signal's scores by topic, and its weight in the fused score.
Signal = Tuple[Mapping[str, float], float]


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


@dataclass
class TopicCentroids:
    """Each topic's phrasings as one point of an embedding space: the mean of their unit
    vectors, itself of unit length."""

    topics: List[str]
    matrix: np.ndarray  # one unit row a topic

    @classmethod
    def build(cls, vectors: Mapping[str, np.ndarray]) -> TopicCentroids:
        """``vectors``: each topic's phrasings, one unit row each."""
        topics = sorted(vectors)
        means = np.stack([np.asarray(vectors[topic], dtype=np.float32).mean(axis=0) for topic in topics])
        norms = np.linalg.norm(means, axis=1, keepdims=True)
        return cls(topics, means / np.where(norms > 0.0, norms, 1.0))

    def similarities(self, vector: np.ndarray) -> Dict[str, float]:
        """Cosine similarity of the message's unit vector to every topic, less its mean over
        the topics: only how much nearer one topic is than the others counts. Texts are
        somewhat near every topic in this space (a real post and a topic: 0.05 to 0.5 for nine
        pairs in ten), and a long story is near many; centred, the scores sum to 0 and a topic
        no nearer than the average gets nothing, or less, from this signal."""
        cosines = self.matrix @ np.asarray(vector, dtype=np.float32)
        centred = cosines - cosines.mean()
        return {topic: float(score) for topic, score in zip(self.topics, centred, strict=True)}


def fuse(signals: Sequence[Signal]) -> Ranking:
    """Topics ranked by the weighted mean of their scores from each signal: ``signals`` is a
    list of (scores by topic, weight), e.g. the selector's confidence with weight 1 and the word
    overlap with another. A topic missing from a signal scores 0 there.

    The selector's confidence and the word overlap are on a 0-1 scale, and the centred
    embedding similarity mostly within -0.3 to 0.3 (-0.4 to 0.6 at the extremes, on the real
    posts and our held-out set), so the fused score is about 0 to 1 too; the topic-confidence
    threshold (rasa_plugins/topic_confidence.py) applies to it."""
    total = sum(float(weight) for _, weight in signals)
    topics = set().union(*(scores for scores, _ in signals)) if signals else set()
    fused = {
        topic: sum(float(weight) * scores.get(topic, 0.0) for scores, weight in signals) / total for topic in topics
    }
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
