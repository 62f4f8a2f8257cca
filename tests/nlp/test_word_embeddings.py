"""A text as the mean of WordLlama's token embeddings (nlp/word_embeddings.py), and each FAQ
topic as the centroid of its phrasings (knowledge/retrieval.py)."""

import numpy as np
import pytest

from knowledge.retrieval import TopicCentroids
from nlp.word_embeddings import word_embeddings
from settings import word_embeddings_dir

PHRASINGS = {
    "faq/back_spasm_duration": ["how long do back spasms last", "when will my back spasms stop"],
    "faq/clinic_parking": ["where can I park", "is there parking near the clinic"],
    "faq/soreness_after_massage": ["is it normal to be sore after a massage", "why do I ache the day after"],
}


@pytest.fixture(scope="module")
def embeddings():
    return word_embeddings(word_embeddings_dir())


@pytest.fixture(scope="module")
def centroids(embeddings):
    return TopicCentroids.build({topic: embeddings.embed(texts) for topic, texts in PHRASINGS.items()})


def test_texts_become_unit_vectors(embeddings):
    vectors = embeddings.embed(["my lower back locks up every morning", "hello"])
    assert vectors.shape == (2, embeddings.dimensions) == (2, 256)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)


def test_an_empty_or_odd_text_does_not_crash(embeddings):
    vectors = embeddings.embed(["", "   ", "🙂 ñ 😬", "x" * 5000])
    assert np.isfinite(vectors).all()
    assert embeddings.embed([]).shape == (0, 256)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("my back keeps going into spasm, how many days until it settles?", "faq/back_spasm_duration"),
        ("is there somewhere to leave the car when I come in?", "faq/clinic_parking"),
        ("I felt really tender the next day after my massage, is that ok?", "faq/soreness_after_massage"),
    ],
)
def test_a_new_phrasing_is_nearest_its_own_topic(embeddings, centroids, text, topic):
    [vector] = embeddings.embed([text])
    scores = centroids.similarities(vector)
    assert max(scores, key=scores.get) == topic


def test_centred_similarities_sum_to_zero(embeddings, centroids):
    [vector] = embeddings.embed(["where do I park for my back massage"])
    scores = centroids.similarities(vector)
    assert set(scores) == set(PHRASINGS)
    assert sum(scores.values()) == pytest.approx(0.0, abs=1e-5)


def test_the_embeddings_are_loaded_once_per_process():
    assert word_embeddings(word_embeddings_dir()) is word_embeddings(word_embeddings_dir())
