"""Chooses a FAQ question's topic with the response selector, word overlap and meaning together.

Runs after the ResponseSelector (config.yml) and rewrites its choice and ranking with the
fused scores of knowledge/retrieval.py: the selector's confidence, the TF-IDF similarity of
the message's lemmas to each topic's phrasings, and the (centred) cosine similarity of the
message to each topic's centroid in WordLlama's word-embedding space (nlp/word_embeddings.py),
all learnt from the same training examples. The TF-IDF index and the centroids are stored in
the model; the embedding table is read from the set-up's build/ directory, as the spaCy
pipeline is. The topic-confidence fallback after it, the "did you mean" offer
(actions/fallback.py) and the answer (Rasa's utter_faq) then all read the fused choice.

A message that asks two things ("how long do spasms last? and can I still go to the gym?")
gets the first topic's answer; the other question's topic, found by its own words (word
overlap only), is added as ``also_asked``, and the response generator offers it as a button
under the answer.
"""

from __future__ import annotations

import pickle
from collections import defaultdict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import RESPONSE_SELECTOR_PROPERTY_NAME, SPACY_DOCS
from rasa.shared.nlu.constants import INTENT, INTENT_RESPONSE_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from spacy.tokens import Doc, Span

from knowledge.retrieval import Ranking, Signal, TopicCentroids, TopicIndex, fuse
from nlp.sentences import questions
from nlp.word_embeddings import WordEmbeddings, word_embeddings
from rasa_plugins.topic_confidence import ASKS_QUESTION
from settings import word_embeddings_dir

RETRIEVAL_INTENT = "faq"
INDEX_FILE = "topic_index.pkl"
RANKING_LENGTH = 10  # as the response selector's own ranking
ALSO_ASKED = "also_asked"


def content_lemmas(doc: Union[Doc, Span]) -> str:
    """The words that carry meaning: lemmas (the project's pipeline already maps misspellings
    to the right lemma), without stop words and punctuation."""
    return " ".join(token.lemma_.lower() for token in doc if not (token.is_stop or token.is_punct or token.is_space))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TopicRetrieval(GraphComponent):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        # How much word overlap and the nearness in meaning (embedding) count beside the
        # selector's confidence (weight 1); chosen on the development set of real posts and
        # our own sets (README, "Real patients' messages"; config.yml). 0 turns a signal off.
        # ``second_question_similarity``: how much of a topic's words another question of the
        # message must share to be offered (README, "Real patients' messages").
        return {"lexical_weight": 2.0, "embedding_weight": 2.0, "second_question_similarity": 0.3}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        index: Optional[TopicIndex] = None,
        responses: Optional[Dict[str, List[Dict[str, Any]]]] = None,
        centroids: Optional[TopicCentroids] = None,
    ) -> None:
        self._weight = float(config["lexical_weight"])
        self._embedding_weight = float(config["embedding_weight"])
        self._second_question_similarity = float(config["second_question_similarity"])
        self._model_storage = model_storage
        self._resource = resource
        self._index = index
        self._responses = responses or {}
        self._centroids = centroids
        # Loaded once per process, shared by every model that uses them.
        self._embeddings: Optional[WordEmbeddings] = (
            word_embeddings(word_embeddings_dir()) if self._embedding_weight > 0 else None
        )

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TopicRetrieval:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        # Built anew from every phrasing, also when fine-tuning (Rasa then calls load() first):
        # a few seconds, and the index and centroids of the live model know no new phrasing.
        phrasings: Dict[str, List[str]] = defaultdict(list)
        texts: Dict[str, List[str]] = defaultdict(list)
        for example in training_data.intent_examples:
            key = example.get(INTENT_RESPONSE_KEY)
            if example.get(INTENT) == RETRIEVAL_INTENT and key:
                phrasings[key].append(content_lemmas(example.get(SPACY_DOCS[TEXT])))
                texts[key].append(example.get(TEXT))
        self._index = TopicIndex.build(phrasings)
        self._responses = {key: list(training_data.responses.get(f"utter_{key}", [])) for key in self._index.topics}
        if self._embeddings:
            embeddings = self._embeddings
            self._centroids = TopicCentroids.build({key: embeddings.embed(texts[key]) for key in texts})
        with self._model_storage.write_to(self._resource) as directory:
            stored = (self._index, self._responses, self._centroids)
            (directory / INDEX_FILE).write_bytes(pickle.dumps(stored))
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TopicRetrieval:
        with model_storage.read_from(resource) as directory:
            # Written by train() above into this model archive; never read from elsewhere.
            stored = pickle.loads((directory / INDEX_FILE).read_bytes())  # noqa: S301
        # A model trained before the embedding signal stored no centroids: it goes without.
        index, responses, centroids = stored if len(stored) == 3 else (*stored, None)
        return cls(config, model_storage, resource, index, responses, centroids)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            properties = message.get(RESPONSE_SELECTOR_PROPERTY_NAME) or {}
            selected = properties.get(RETRIEVAL_INTENT)
            doc = message.get(SPACY_DOCS[TEXT])
            asked = questions(doc) if doc is not None else []
            if doc is not None:
                message.set(ASKS_QUESTION, bool(asked), add_to_output=True)
            if not (self._index and selected and doc is not None):
                continue
            selector = {
                entry[INTENT_RESPONSE_KEY]: float(entry[PREDICTED_CONFIDENCE_KEY]) for entry in selected["ranking"]
            }
            ranking = fuse(self._signals(selector, doc, message.get(TEXT) or ""))[:RANKING_LENGTH]
            key, confidence = ranking[0]
            properties[RETRIEVAL_INTENT] = {
                "response": {
                    "responses": self._responses.get(key, []),
                    PREDICTED_CONFIDENCE_KEY: confidence,
                    INTENT_RESPONSE_KEY: key,
                    "utter_action": f"utter_{key}",
                },
                "ranking": [{INTENT_RESPONSE_KEY: k, PREDICTED_CONFIDENCE_KEY: c} for k, c in ranking],
            }
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, properties, add_to_output=True)
            also_asked = self._other_question(asked, ranking)
            if also_asked:
                message.set(ALSO_ASKED, also_asked, add_to_output=True)
        return messages

    def _signals(self, selector: Mapping[str, float], doc: Doc, text: str) -> Sequence[Signal]:
        """The scores fused, each with its weight; the selector's weighs 1."""
        assert self._index
        signals: List[Signal] = [
            (selector, 1.0),
            (self._index.similarities(content_lemmas(doc)), self._weight),
        ]
        if self._embeddings and self._centroids:
            # The message as written (the centroids were made from the phrasings as written).
            [vector] = self._embeddings.embed([text])
            signals.append((self._centroids.similarities(vector), self._embedding_weight))
        return signals

    def _other_question(self, asked: List[Span], ranking: Ranking) -> Optional[str]:
        """The topic of a question in the message other than the one answered, if it names one."""
        assert self._index
        if len(asked) < 2:
            return None
        answered = ranking[0][0]
        for sentence in asked:
            similar = self._index.similarities(content_lemmas(sentence))
            topic = max(similar, key=lambda key: similar[key])
            if topic != answered and similar[topic] >= self._second_question_similarity:
                return topic
        return None
