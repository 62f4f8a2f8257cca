"""The FAQ knowledge base: the rules staff follow, and the generated training data."""

import re
from pathlib import Path

import pytest
import yaml

from clinic.details import CLINIC_QUESTIONS
from knowledge import KnowledgeError, load_topics
from knowledge.generate import render_nlu, render_responses, stale_files
from settings import PROJECT_DIR


def test_generated_training_data_is_up_to_date():
    stale = stale_files()
    assert not stale, f"run `make data`: {[str(path) for path in stale]} out of date"


def test_knowledge_base_covers_at_least_40_topics_with_10_phrasings_each():
    topics = load_topics()
    assert len(topics) >= 40
    assert all(len(topic.questions) >= 10 for topic in topics)


def test_every_article_answer_names_its_source_article():
    topics = load_topics()
    responses = yaml.safe_load(render_responses(topics))["responses"]
    for topic in topics:
        [answer] = responses[f"utter_faq/{topic.id}"]
        if topic.source:
            assert f'Source: "{topic.source}"' in answer["text"], topic.id
        else:  # the clinic's own answers (knowledge/clinic.yml)
            assert "Source:" not in answer["text"], topic.id


def test_the_clinics_own_questions_are_answered_from_its_details():
    """Every everyday question of clinic/details.yml `answers` has its topic, answered from there."""
    clinic_topics = [topic for topic in load_topics() if topic.source is None]
    assert sorted(topic.answer for topic in clinic_topics) == sorted(
        f"{{clinic_answer_{question}}}" for question in CLINIC_QUESTIONS
    )


def test_follow_up_buttons_send_a_question_of_the_follow_up_topic():
    topics = load_topics()
    by_id = {topic.id: topic for topic in topics}
    responses = yaml.safe_load(render_responses(topics))["responses"]
    for topic in topics:
        if topic.follow_up:
            [button] = responses[f"utter_faq/{topic.id}"][0]["buttons"]
            assert button["payload"] in by_id[topic.follow_up].questions


def test_generated_nlu_lists_every_question_under_its_topic():
    topics = load_topics()
    nlu = yaml.safe_load(render_nlu(topics))["nlu"]
    examples = {block["intent"]: [line[2:] for line in block["examples"].splitlines()] for block in nlu}
    for topic in topics:
        assert examples[f"faq/{topic.id}"] == list(topic.questions)


def write_topic(directory: Path, **overrides) -> None:
    topic = {
        "id": "new_topic",
        "title": "A new topic",
        "questions": [f"question number {i}" for i in range(12)],
        "answer": "An answer.",
    }
    topic.update(overrides)
    (directory / "clinic.yml").write_text(yaml.safe_dump({"article": None, "topics": [topic]}))


@pytest.mark.parametrize(
    "overrides, complaint",
    [
        ({"id": "Bad Id"}, "lower_case"),
        ({"title": "x" * 80}, "title"),
        ({"questions": ["only", "three", "questions"]}, "at least 10"),
        ({"answer": ""}, "answer is empty"),
        ({"answer": "Call {nobody}"}, "only for clinic details"),
        ({"answer": "Call {clinic_phone"}, "only for clinic details"),
        ({"follow_up": "missing_topic"}, "not a topic"),
    ],
)
def test_a_broken_topic_is_refused_with_a_clear_message(tmp_path, overrides, complaint):
    write_topic(tmp_path, **overrides)
    with pytest.raises(KnowledgeError, match=complaint):
        load_topics(tmp_path)


def test_a_staff_topic_without_article_and_with_clinic_placeholders_loads(tmp_path):
    write_topic(tmp_path, answer="Call {clinic_name} on {clinic_phone}.")
    [topic] = load_topics(tmp_path)
    assert topic.source is None and topic.canonical_question == "question number 0"


def _normalised_examples(path: Path):
    for block in yaml.safe_load(path.read_text())["nlu"]:
        if "intent" not in block:  # regex and lookup blocks hold patterns, not phrasings
            continue
        for line in block["examples"].splitlines():
            yield block["intent"], _normalised(line[2:])


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", "", text.lower()).split())


def test_held_out_and_validation_phrasings_are_not_in_the_training_data():
    training = {text for path in (PROJECT_DIR / "data").rglob("nlu.yml") for _, text in _normalised_examples(path)}
    held_out_sets = (
        "tests/nlu/faq_holdout.yml",
        "tests/nlu/intents_holdout.yml",
        "datasets/tuning/fallback_threshold.yml",
    )
    for held_out in held_out_sets:
        leaked = [text for _, text in _normalised_examples(PROJECT_DIR / held_out) if text in training]
        assert not leaked, f"{held_out} repeats training phrasings: {leaked}"
    stories = yaml.safe_load((PROJECT_DIR / "tests" / "nlu" / "long_stories.yml").read_text())["messages"]
    leaked = [story["text"] for story in stories if _normalised(story["text"]) in training]
    assert not leaked, f"tests/nlu/long_stories.yml repeats training phrasings: {leaked}"
