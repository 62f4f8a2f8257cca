"""A FAQ question whose topic is a guess goes to the fallback (rasa_plugins/topic_confidence.py)."""

from rasa.shared.nlu.training_data.message import Message

from rasa_plugins.topic_confidence import TopicConfidenceFallback


def parsed(intent: str, topic_confidence: float) -> Message:
    ranking = [{"intent_response_key": "faq/does_massage_hurt", "confidence": topic_confidence}]
    return Message(
        data={
            "text": "how much glucose is in an emergency kit",
            "intent": {"name": intent, "confidence": 1.0},
            "intent_ranking": [{"name": intent, "confidence": 1.0}],
            "response_selector": {"faq": {"response": {"confidence": topic_confidence}, "ranking": ranking}},
        }
    )


def test_a_topic_guessed_with_low_confidence_becomes_the_fallback_keeping_the_ranking():
    [message] = TopicConfidenceFallback({"threshold": 0.3}).process([parsed("faq", 0.12)])
    assert message.get("intent")["name"] == "nlu_fallback"
    assert [r["name"] for r in message.get("intent_ranking")] == ["nlu_fallback", "faq"]
    # "did you mean" still finds the likeliest topics
    assert message.get("response_selector")["faq"]["ranking"][0]["intent_response_key"] == "faq/does_massage_hurt"


def test_a_confident_topic_and_other_intents_are_left_alone():
    gate = TopicConfidenceFallback({"threshold": 0.3})
    assert gate.process([parsed("faq", 0.85)])[0].get("intent")["name"] == "faq"
    assert gate.process([parsed("greet", 0.05)])[0].get("intent")["name"] == "greet"
