"""The FAQ topic chosen by the selector and word overlap together (rasa_plugins/topic_retrieval.py),
trained, stored and loaded as Rasa does, on docs of the project's spaCy pipeline."""

from typing import Dict, List

import pytest
import spacy
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_plugins.topic_retrieval import TopicRetrieval
from settings import spacy_pipeline

TOPICS: Dict[str, List[str]] = {
    "faq/back_spasm_duration": ["how long do back spasms last", "when will my back spasms stop"],
    "faq/clinic_parking": ["where can I park", "is there parking near the clinic"],
}
RESPONSES = {f"utter_{key}": [{"text": f"the answer about {key}"}] for key in TOPICS}


@pytest.fixture(scope="module")
def nlp():
    return spacy.load(spacy_pipeline())


def config(lexical_weight: float) -> Dict[str, float]:
    return {**TopicRetrieval.get_default_config(), "lexical_weight": lexical_weight}


def message(nlp, text: str, **data) -> Message:
    return Message(data={"text": text, "text_spacy_doc": nlp(text.lower()), **data})


@pytest.fixture()
def trained(nlp, tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("topic_retrieval")
    examples = [
        message(nlp, text, intent="faq", intent_response_key=key) for key, texts in TOPICS.items() for text in texts
    ]
    examples.append(message(nlp, "hello there", intent="greet"))
    component = TopicRetrieval(config(4.0), storage, resource)
    component.train(TrainingData(examples, responses=RESPONSES))
    return storage, resource


def selector_guessing_parking(nlp) -> Message:
    ranking = [
        {"intent_response_key": "faq/clinic_parking", "confidence": 0.5},
        {"intent_response_key": "faq/back_spasm_duration", "confidence": 0.4},
    ]
    story = "I lifted a box at work on Monday and my back spasms keep coming back. How long will they last?"
    return message(
        nlp,
        story,
        intent={"name": "faq", "confidence": 1.0},
        response_selector={"faq": {"response": {"intent_response_key": "faq/clinic_parking"}, "ranking": ranking}},
    )


def test_a_story_sharing_a_topics_words_gets_that_topics_answer_after_loading(nlp, trained):
    storage, resource = trained
    loaded = TopicRetrieval.load(config(4.0), storage, resource, execution_context=None)
    [parsed] = loaded.process([selector_guessing_parking(nlp)])
    chosen = parsed.get("response_selector")["faq"]
    assert chosen["response"]["intent_response_key"] == "faq/back_spasm_duration"
    assert chosen["response"]["utter_action"] == "utter_faq/back_spasm_duration"
    assert chosen["response"]["responses"] == [{"text": "the answer about faq/back_spasm_duration"}]
    assert [r["intent_response_key"] for r in chosen["ranking"]] == ["faq/back_spasm_duration", "faq/clinic_parking"]
    assert 0.0 < chosen["response"]["confidence"] <= 1.0


def test_without_word_overlap_the_selector_decides(nlp, trained):
    storage, resource = trained
    loaded = TopicRetrieval.load(config(0.0), storage, resource, execution_context=None)
    [parsed] = loaded.process([selector_guessing_parking(nlp)])
    assert parsed.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/clinic_parking"


def test_a_message_the_selector_did_not_read_is_left_alone(nlp, trained):
    storage, resource = trained
    loaded = TopicRetrieval.load(config(4.0), storage, resource, execution_context=None)
    [parsed] = loaded.process([message(nlp, "hi", intent={"name": "greet", "confidence": 1.0})])
    assert parsed.get("response_selector") is None


def test_a_second_question_names_its_topic_as_also_asked(nlp, trained):
    storage, resource = trained
    loaded = TopicRetrieval.load(config(4.0), storage, resource, execution_context=None)
    two_questions = selector_guessing_parking(nlp)
    two_questions = message(
        nlp,
        "How long do back spasms last? And is there parking near the clinic?",
        intent=two_questions.get("intent"),
        response_selector=two_questions.get("response_selector"),
    )
    [parsed] = loaded.process([two_questions])
    answered = parsed.get("response_selector")["faq"]["response"]["intent_response_key"]
    assert {answered, parsed.get("also_asked")} == {"faq/back_spasm_duration", "faq/clinic_parking"}


def test_one_question_told_with_a_story_has_nothing_also_asked(nlp, trained):
    storage, resource = trained
    loaded = TopicRetrieval.load(config(4.0), storage, resource, execution_context=None)
    [parsed] = loaded.process([selector_guessing_parking(nlp)])
    assert parsed.get("also_asked") is None
