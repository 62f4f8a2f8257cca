"""Sends a FAQ question whose topic the response selector is unsure of to the fallback.

Rasa's FallbackClassifier looks only at the intent's confidence. For a FAQ question that is
the confidence of "this is a FAQ question", which stays near 1.0 for almost any question about
massage or back pain, even one no topic answers ("how much glucose is in an emergency kit").
What tells an answer from a guess is the response selector's confidence in the topic: on
real patients' posts a wrong topic came with a low one. Below ``threshold`` the intent
becomes ``nlu_fallback`` and the dialogue asks "did you mean ...?" with the likeliest topics
(actions/fallback.py), then offers the clinic's contact: an honest answer, never another
topic's.

The threshold is chosen with ``make tune-topics`` on the development posts and our own sets (see config.yml).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

RETRIEVAL_INTENT = "faq"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
ASKS_QUESTION = "asks_question"  # set by rasa_plugins/topic_retrieval.py


def asked_topic(parse_data: Mapping[str, Any]) -> Optional[str]:
    """The FAQ topic a message asked about, when it was understood with confidence, even if the
    red-flag layer then took the intent for a follow-up question ("my back aches more at night,
    how often should I come in?"): the intent just below the red flag's is still "faq" only
    when neither fallback took it (the red-flag component keeps the ranking). None otherwise."""
    ranking = parse_data.get(INTENT_RANKING_KEY) or []
    if len(ranking) < 2 or ranking[1].get(INTENT_NAME_KEY) != RETRIEVAL_INTENT:
        return None
    selected = (parse_data.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    key = (selected.get("response") or {}).get("intent_response_key")
    return str(key).split("/", 1)[-1] if key else None


def asked_but_not_understood(parse_data: Mapping[str, Any]) -> bool:
    """The message asked something (``asks_question``, rasa_plugins/topic_retrieval.py) that no
    topic answers with confidence, and the red-flag layer then took the intent for a follow-up
    question: the person is told so, with the clinic's contact, before that question."""
    ranking = parse_data.get(INTENT_RANKING_KEY) or []
    not_understood = len(ranking) >= 2 and ranking[1].get(INTENT_NAME_KEY) in (FALLBACK_INTENT, OUT_OF_SCOPE)
    return not_understood and bool(parse_data.get(ASKS_QUESTION))


def topic_confidence(message: Message) -> float:
    selected = (message.get("response_selector") or {}).get(RETRIEVAL_INTENT) or {}
    return float((selected.get("response") or {}).get(PREDICTED_CONFIDENCE_KEY) or 0.0)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TopicConfidenceFallback(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"threshold": 0.3}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._threshold = float(config["threshold"])

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TopicConfidenceFallback:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = message.get(INTENT) or {}
            confidence = topic_confidence(message)
            if intent.get(INTENT_NAME_KEY) == RETRIEVAL_INTENT and confidence < self._threshold:
                # As FallbackClassifier does: the fallback goes first, the ranking is kept, and
                # "did you mean" reads the topics from the response selector's ranking.
                fallback = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: confidence}
                message.set(INTENT, fallback, add_to_output=True)
                ranking = message.get(INTENT_RANKING_KEY) or []
                message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
        return messages
