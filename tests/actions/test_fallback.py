from actions.fallback import ActionClarifyTopic, likely_topics
from knowledge import topics_by_id
from tests.support.trackers import make_tracker, user_event


def selector(*topic_ids: str) -> dict:
    """Response-selector output ranking the given FAQ topics, best first."""
    ranking = [
        {"intent_response_key": f"faq/{topic_id}", "confidence": 0.3 - i * 0.05} for i, topic_id in enumerate(topic_ids)
    ]
    return {"faq": {"ranking": ranking, "response": ranking[0] if ranking else {}}}


def run(events, dispatcher):
    return ActionClarifyTopic().run(dispatcher, make_tracker(events), domain={})


def test_first_low_confidence_message_offers_the_likely_topics_as_buttons(dispatcher):
    events = [
        user_event(
            "mmm knots?",
            "nlu_fallback",
            0.3,
            response_selector=selector("why_tight_muscles_hurt", "back_spasm_causes", "posture", "aftercare"),
        )
    ]
    run(events, dispatcher)

    [message] = dispatcher.messages
    titles = [button["title"] for button in message["buttons"]]
    topics = topics_by_id()
    assert titles == [
        topics["why_tight_muscles_hurt"].title,
        topics["back_spasm_causes"].title,
        topics["posture"].title,
        "None of these",
    ]
    # A button sends a phrasing the assistant was trained on, so clicking it gets the answer.
    assert message["buttons"][0]["payload"] in topics["why_tight_muscles_hurt"].questions
    assert message["buttons"][-1]["payload"] == "/human_handoff"


def test_second_low_confidence_message_in_a_row_offers_the_clinic_contact(dispatcher):
    events = [
        user_event("blah", "nlu_fallback", 0.2, response_selector=selector("posture")),
        {"event": "bot", "text": "I'm not sure I understood."},
        user_event("blah blah", "nlu_fallback", 0.2, response_selector=selector("posture")),
    ]
    run(events, dispatcher)

    assert [m["response"] for m in dispatcher.messages] == ["utter_contact_after_fallback"]


def test_low_confidence_after_an_understood_message_asks_again(dispatcher):
    events = [
        user_event("hi", "greet"),
        user_event("hmm", "nlu_fallback", 0.2, response_selector=selector("posture")),
    ]
    run(events, dispatcher)

    assert dispatcher.messages[0]["buttons"][0]["title"] == topics_by_id()["posture"].title


def test_without_any_ranked_topic_the_default_reply_is_given(dispatcher):
    run([user_event("???", "nlu_fallback", 0.1)], dispatcher)

    assert [m["response"] for m in dispatcher.messages] == ["utter_default"]


def test_unknown_topics_in_the_ranking_are_skipped():
    parse_data = {"response_selector": selector("no_such_topic", "posture")}

    assert [topic.id for topic in likely_topics(parse_data)] == ["posture"]
