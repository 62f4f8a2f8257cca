"""Topics found by word overlap, and fused with the response selector (knowledge/retrieval.py)."""

import pytest

from knowledge.retrieval import TopicIndex, fuse

PHRASINGS = {
    "faq/back_spasm_duration": ["how long do back spasm last", "when will spasm stop", "spasm still there after week"],
    "faq/soreness_after_massage": ["sore after massage", "ache day after massage normal", "massage leave me stiff"],
    "faq/clinic_parking": ["where do i park", "be there parking near clinic", "car park"],
}


@pytest.fixture(scope="module")
def index() -> TopicIndex:
    return TopicIndex.build(PHRASINGS)


def test_a_long_story_finds_the_topic_its_words_share(index):
    story = "week ago lift box garden spasm start lower back rest heat spasm still come go wonder long last"
    scores = index.similarities(story)
    assert max(scores, key=scores.get) == "faq/back_spasm_duration"
    assert all(0.0 <= score <= 1.0 for score in scores.values())


def test_words_no_topic_knows_score_nothing(index):
    assert set(index.similarities("glucose emergency kit").values()) == {0.0}


def test_the_fused_ranking_weighs_word_overlap_against_the_selector():
    selector = {"faq/clinic_parking": 0.6, "faq/back_spasm_duration": 0.3}
    lexical = {"faq/back_spasm_duration": 0.5, "faq/clinic_parking": 0.0}
    # Selector alone: parking. With the words counted four times: the spasm topic.
    assert fuse([(selector, 1.0), (lexical, 0.0)])[0][0] == "faq/clinic_parking"
    [(topic, score), *_] = fuse([(selector, 1.0), (lexical, 4.0)])
    assert topic == "faq/back_spasm_duration"
    assert score == pytest.approx((0.3 + 4 * 0.5) / 5)


def test_a_topic_only_one_side_knows_is_still_ranked():
    ranking = fuse([({"faq/a": 0.9}, 1.0), ({"faq/b": 0.2}, 1.0)])
    assert ranking == [("faq/a", pytest.approx(0.45)), ("faq/b", pytest.approx(0.1))]


def test_any_number_of_signals_is_a_weighted_mean():
    selector = {"faq/a": 0.6, "faq/b": 0.4}
    lexical = {"faq/a": 0.1, "faq/b": 0.3}
    embedding = {"faq/a": -0.1, "faq/b": 0.1}
    ranking = dict(fuse([(selector, 1.0), (lexical, 2.0), (embedding, 2.0)]))
    assert ranking["faq/a"] == pytest.approx((0.6 + 0.2 - 0.2) / 5)
    assert ranking["faq/b"] == pytest.approx((0.4 + 0.6 + 0.2) / 5)
