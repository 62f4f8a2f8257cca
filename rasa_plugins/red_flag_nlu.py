"""Runs the red-flag detector inside Rasa's NLU pipeline (config.yml, after the classifiers).

The lexicon (red_flags/detector.py) decides first; a classifier trained with the assistant
(red_flags/classifier.py) may still escalate a message worded in a way the lexicon does not
know, or raise the lexicon's URGENT to EMERGENCY (``combine``); it never calms one down.

On a red flag it adds what it found to the parsed message (``red_flag``: level, category,
matched words), an entity ``red_flag_level`` (so the slot of that name remembers it for
the conversation) and sets the intent to ``red_flag_emergency`` or ``red_flag_urgent``, which
the dialogue rules answer before anything else. The classifiers' own ranking is kept. A single
weak sign sets ``red_flag_check`` to ask a follow-up question; so does a serious sign told
only in the past (red_flags/timing.py), to ask whether it is happening now, with an entity
``red_flag_pending`` holding its tier for the reply to a yes. A message that speaks of the
person's back is marked ``mentions_back``; in a conversation with one, a later sign counts with
it ("I have a fever" after "my back hurts"). Everything runs in the Rasa
server, so the escalation reply never waits for the action server.
"""

from __future__ import annotations

import hashlib
import inspect
import pickle
import tarfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Type, TypedDict

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from red_flags.categories import tier_of
from red_flags.classifier import (
    DEVELOPMENT_SETS,
    NO_RED_FLAG,
    RedFlagModel,
    combine,
    development_examples,
    normalise,
    pieces,
)
from red_flags.contract import (
    ASK_NOW,
    CHECK,
    EMERGENCY,
    INTENT_FOR_LEVEL,
    LEVEL_SLOT,
    MENTIONS_BACK,
    PENDING_SLOT,
    RED_FLAG,
    RED_FLAG_CHECK,
)
from red_flags.detector import Finding, RedFlagDetector, detector_for
from red_flags.timing import in_time
from settings import settings

SPACY_DOC = "text_spacy_doc"
MODEL_FILE = "red_flag_model.pkl"
NORMALISED_FILE = "normalised_phrasings.pkl"
MAX_QUOTE = 80  # characters of the message quoted back when the classifier recognised it


class Normalised(TypedDict):
    pipeline: str  # _normalising_fingerprint() when they were normalised
    phrasings: Dict[str, str]  # lower-cased phrasing -> what the classifier reads


def _normalising_fingerprint(pipeline_path: str) -> str:
    """Everything normalising a phrasing depends on: the built spaCy pipeline's files (its
    lookups and rules; built-in factories only), spaCy's version and ``normalise`` itself."""
    import spacy

    digest = hashlib.sha256(spacy.__version__.encode() + inspect.getsource(normalise).encode())
    root = Path(pipeline_path)
    for file in sorted(path for path in root.rglob("*") if path.is_file()):
        digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _parts_of(model: Path) -> Tuple[Optional[RedFlagModel], Optional[Normalised]]:
    """The red-flag classifier and normalised phrasings kept in a trained model's archive, when
    it has them (``train`` below writes them)."""
    parts: Dict[str, Any] = {}
    with tarfile.open(model, "r:gz") as archive:
        for member in archive:
            name = member.name.rsplit("/", 1)[-1]
            if "RedFlagClassifier" in member.name and name in (MODEL_FILE, NORMALISED_FILE):
                file = archive.extractfile(member)
                # Our own model archive, as trusted as the model that is loaded to answer patients.
                parts[name] = pickle.loads(file.read()) if file else None  # noqa: S301
                if len(parts) == 2:
                    break
    pipeline = parts.get(MODEL_FILE)
    return (RedFlagModel(pipeline) if pipeline is not None else None), parts.get(NORMALISED_FILE)


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUOTE else text[:MAX_QUOTE].rsplit(" ", 1)[0] + "..."


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class RedFlagClassifier(GraphComponent, IntentClassifier):
    @classmethod
    def required_components(cls) -> List[Type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # The spaCy pipeline the detector compiles its patterns with (the SpacyNLP model),
        # and the labelled phrasings the classifier learns from.
        return {"spacy_pipeline": None, "development_sets": DEVELOPMENT_SETS}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[RedFlagModel] = None,
        normalised: Optional[Normalised] = None,
    ) -> None:
        self._config = config
        # What the classifier read for each lower-cased phrasing, and what normalising depended on.
        self._normalised: Normalised = normalised or {"pipeline": "", "phrasings": {}}
        self._model_storage = model_storage
        self._resource = resource
        self._detector: RedFlagDetector = detector_for(config["spacy_pipeline"])
        self._model = model

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagClassifier:
        # A full training (fine-tuning calls load() instead) starts from the model it replaces
        # when it is named: the same optimum in a fraction of the iterations (red_flags/classifier.py).
        start = settings().red_flag_start_model
        model, normalised = _parts_of(start) if start and start.is_file() else (None, None)
        return cls(config, model_storage, resource, model, normalised)

    def train(self, training_data: TrainingData) -> Resource:
        # Trained again also when fine-tuning (Rasa then calls load() first): the live model's
        # classifier has not seen the new phrasings as "no red flag".
        # Every phrasing the assistant is trained on is, by construction, not a red flag.
        examples = development_examples(self._config["development_sets"]) + [
            (example.get(TEXT), NO_RED_FLAG) for example in training_data.intent_examples
        ]
        texts = [text.lower() for text, _ in examples]
        # The live model's, when fine-tuning or starting from it: normalising its 14,000 phrasings
        # again took 7 of a fine-tuning's seconds. Only if normalising still works the same way.
        pipeline = _normalising_fingerprint(self._config["spacy_pipeline"])
        known = self._normalised["phrasings"] if self._normalised.get("pipeline") == pipeline else {}
        nlp = self._detector.nlp
        normalised = {text: known.get(text) or normalise(nlp(text)) for text in dict.fromkeys(texts)}
        self._normalised = {"pipeline": pipeline, "phrasings": normalised}
        # Only a model fine-tuning loaded, or create() found, has one: it starts from its weights.
        self._model = RedFlagModel.train(
            [normalised[text] for text in texts], [label for _, label in examples], self._model
        )
        with self._model_storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_bytes(pickle.dumps(self._model.pipeline))
            (directory / NORMALISED_FILE).write_bytes(pickle.dumps(self._normalised))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> RedFlagClassifier:
        with model_storage.read_from(resource) as directory:
            # Written by train() above into this model archive; never read from elsewhere.
            pipeline = pickle.loads((directory / MODEL_FILE).read_bytes())  # noqa: S301
            # Read only when fine-tuning, and absent from models trained before it was kept.
            normalised_file = directory / NORMALISED_FILE
            finetuning = execution_context.is_finetuning and normalised_file.is_file()
            normalised = pickle.loads(normalised_file.read_bytes()) if finetuning else None  # noqa: S301
        return cls(config, model_storage, resource, RedFlagModel(pipeline), normalised)

    def process(self, messages: List[Message], tracker: Optional[DialogueStateTracker] = None) -> List[Message]:
        # Rasa hands over the conversation so far (without this message); /model/parse has none.
        back_pain_known = tracker is not None and _mentioned_back(tracker)
        for message in messages:
            if not message.get(TEXT):
                continue
            doc = message.get(SPACY_DOC) or self._detector.nlp(message.get(TEXT).lower())
            reading = self._detector.read(doc, back_pain_known)
            if reading.mentions_back:
                message.set(MENTIONS_BACK, True, add_to_output=True)
            finding = reading.finding
            # Read in pieces by the classifier: several sentences, told as a story.
            story = len(pieces(doc)) > 1
            # combine() would leave an emergency alone anyway; skipping it saves the classifier's work.
            if self._model and not (finding and finding.level == EMERGENCY):
                probabilities, piece = self._model.most_alarming(doc)
                text = message.get(TEXT)
                # The person's own words of that piece (the doc is of the lower-cased text).
                words = text[piece.start_char : piece.end_char] if len(text) == len(doc.text) else piece.text
                finding = combine(reading, probabilities, (_quote(words),), story=story)
            if finding:
                finding = in_time(doc, finding, story)
                self._mark(message, finding)
        return messages

    @staticmethod
    def _mark(message: Message, finding: Finding) -> None:
        intent = {"name": INTENT_FOR_LEVEL[finding.level], "confidence": 1.0}
        ranking = [intent] + [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent["name"]]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        if finding.level == CHECK:
            message.set(RED_FLAG_CHECK, finding.as_dict(), add_to_output=True)
            return
        if finding.level == ASK_NOW:
            # The slot remembers the sign's tier, for the reply to a yes.
            message.set(RED_FLAG_CHECK, finding.as_dict(), add_to_output=True)
            _add_entity(message, PENDING_SLOT, tier_of(finding.category))
            return
        message.set(RED_FLAG, finding.as_dict(), add_to_output=True)
        _add_entity(message, LEVEL_SLOT, finding.level)


def _mentioned_back(tracker: DialogueStateTracker) -> bool:
    return any(event.parse_data.get(MENTIONS_BACK) for event in tracker.events if isinstance(event, UserUttered))


def _add_entity(message: Message, entity: str, value: str) -> None:
    entities = list(message.get(ENTITIES) or [])
    entities.append(
        {
            "entity": entity,
            "value": value,
            "start": 0,
            "end": len(message.get(TEXT)),
            "confidence_entity": 1.0,
            "extractor": "RedFlagClassifier",
        }
    )
    message.set(ENTITIES, entities, add_to_output=True)
