"""Runs the red-flag detector inside Rasa's NLU pipeline (config.yml, after the classifiers).

On a red flag it adds what it found to the parsed message (``red_flag``: level, category,
matched words), an entity ``red_flag_level`` (so the ``red_flag_level`` slot remembers it for
the conversation) and sets the intent to ``red_flag_emergency`` or ``red_flag_urgent``, which
the dialogue rules answer before anything else. The classifiers' own ranking is kept. A single
weak sign sets ``red_flag_check`` to ask a follow-up question. Everything runs in the Rasa
server, so the escalation reply never waits for the action server.
"""
from __future__ import annotations

from typing import Any, Dict, List, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from red_flags.detector import CHECK, Finding, RedFlagDetector, detector_for

SPACY_DOC = "text_spacy_doc"
RED_FLAG = "red_flag"
LEVEL_ENTITY = "red_flag_level"
INTENT_FOR_LEVEL = {"emergency": "red_flag_emergency", "urgent": "red_flag_urgent", CHECK: "red_flag_check"}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class RedFlagClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> List[Type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # The spaCy pipeline the detector compiles its patterns with (the SpacyNLP model).
        return {"spacy_pipeline": None}

    def __init__(self, detector: RedFlagDetector) -> None:
        self._detector = detector

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RedFlagClassifier":
        return cls(detector_for(config["spacy_pipeline"]))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if not message.get(TEXT):
                continue
            doc = message.get(SPACY_DOC) or self._detector.nlp(message.get(TEXT).lower())
            finding = self._detector.assess(doc)
            if finding:
                self._mark(message, finding)
        return messages

    @staticmethod
    def _mark(message: Message, finding: Finding) -> None:
        intent = {"name": INTENT_FOR_LEVEL[finding.level], "confidence": 1.0}
        ranking = [intent] + [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent["name"]]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        if finding.level == CHECK:
            message.set("red_flag_check", finding.as_dict(), add_to_output=True)
            return
        message.set(RED_FLAG, finding.as_dict(), add_to_output=True)
        text = message.get(TEXT)
        entities = list(message.get(ENTITIES) or [])
        entities.append(
            {
                "entity": LEVEL_ENTITY,
                "value": finding.level,
                "start": 0,
                "end": len(text),
                "confidence_entity": 1.0,
                "extractor": "RedFlagClassifier",
            }
        )
        message.set(ENTITIES, entities, add_to_output=True)
