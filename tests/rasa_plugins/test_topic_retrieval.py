"""The FAQ topic chosen by the selector, word overlap and word embeddings together
(rasa_plugins/topic_retrieval.py), trained, stored and loaded as Rasa does, on docs of the
project's spaCy pipeline."""

import pickle
from typing import Dict, List

import pytest
import spacy
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_plugins.topic_retrieval import INDEX_FILE, TopicRetrieval
from settings import spacy_pipeline

TOPICS: Dict[str, List[str]] = {
    "faq/back_spasm_duration": ["how long do back spasms last", "when will my back spasms stop"],
    "faq/clinic_parking": ["where can I park", "is there parking near the clinic"],
}
RESPONSES = {f"utter_{key}": [{"text": f"the answer about {key}"}] for key in TOPICS}


@pytest.fixture(scope="module")
def nlp():
    return spacy.load(spacy_pipeline())


def config(lexical_weight: float, embedding_weight: float = 0.0) -> Dict[str, float]:
    """Word overlap only unless told: the tests below were written for it."""
    defaults = TopicRetrieval.get_default_config()
    return {**defaults, "lexical_weight": lexical_weight, "embedding_weight": embedding_weight}


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
    component = TopicRetrieval(config(4.0, embedding_weight=2.0), storage, resource)
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


def selector_guessing_parking_for(nlp, story: str) -> Message:
    guess = selector_guessing_parking(nlp)
    return message(nlp, story, intent=guess.get("intent"), response_selector=guess.get("response_selector"))


# Not one content word of the spasm topic's phrasings (spaCy counts "back" as a stop word).
SAME_MEANING = "My lower back muscles keep cramping and seizing up. How many days until that settles down?"


def test_a_story_in_other_words_gets_the_topic_nearest_in_meaning(nlp, trained):
    storage, resource = trained
    lexical_only = TopicRetrieval.load(config(4.0), storage, resource, execution_context=None)
    with_meaning = TopicRetrieval.load(config(1.0, embedding_weight=4.0), storage, resource, execution_context=None)
    [without] = lexical_only.process([selector_guessing_parking_for(nlp, SAME_MEANING)])
    [parsed] = with_meaning.process([selector_guessing_parking_for(nlp, SAME_MEANING)])
    assert without.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/clinic_parking"
    assert parsed.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/back_spasm_duration"


def test_the_default_config_fuses_all_three_signals():
    defaults = TopicRetrieval.get_default_config()
    assert defaults["lexical_weight"] > 0 and defaults["embedding_weight"] > 0


def test_a_model_stored_before_the_embedding_signal_still_loads(nlp, trained):
    storage, resource = trained
    with storage.read_from(resource) as directory:
        index, responses, _ = pickle.loads((directory / INDEX_FILE).read_bytes())
        (directory / INDEX_FILE).write_bytes(pickle.dumps((index, responses)))
    loaded = TopicRetrieval.load(config(4.0, embedding_weight=2.0), storage, resource, execution_context=None)
    assert loaded._centroids is None
    [parsed] = loaded.process([selector_guessing_parking(nlp)])
    assert parsed.get("response_selector")["faq"]["response"]["intent_response_key"] == "faq/back_spasm_duration"
