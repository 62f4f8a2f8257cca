"""`rasa train`, as `staff train` runs it (staff/releases.py): without Rasa's training cache,
with the components that do not depend on each other trained side by side, and fine-tuning
the live model past new labels.

- **No cache.** Rasa's TrainingHook fingerprints every graph node's inputs and outputs so that
  its cache can restore them next time, and does so even with the cache off. Hashing the
  featurised training data after each NLU component took 22 of a fine-tuning's 86 seconds
  (py-spy, 2026-12-05). Here that hook does nothing, and the fingerprint run that looks for
  cached results is skipped (``--force``). The cache could not help staff anyway: their
  changes (a phrasing, an answer, a topic) change the NLU training data, which every NLU
  component reads. Its keys also do not say which model a featurizer's vocabulary was
  extended from when fine-tuning, so a cached one could feed the live model's weights other
  columns, nor see a rebuilt spaCy pipeline (same path, new contents).
- **Fine-tunings side by side; full trainings one component at a time.** Rasa runs its
  training graph one node at a time (``dask.get``), and one TensorFlow training keeps about 1.1
  of this machine's 2 cores busy. A fine-tuning runs the graph on dask's thread pool, so the
  dialogue policies, DIET, the response selector and the red-flag classifier train at the same
  time once their inputs are ready. The models then draw their random numbers (batch order,
  dropout) in no fixed order, so the same files give a slightly different model each time;
  from the live model's weights, with a tenth of the epochs, they differ little. A full
  training, from zero, differs by too much that way: of three side by side from the same files,
  the gate refused one for FAQ accuracy, while Rasa's runner gave the same passing model twice
  (docs/benchmarks.md, "The gate, and a training from zero"). So a full training keeps Rasa's
  runner, as `make train` does: the same files give the same model every time.
- **Fine-tuned where the labels stayed, trained anew where they changed.** Each of the three
  models with labels of its own trains from the start, with all its epochs, when its labels
  changed, and is fine-tuned from the live model's weights otherwise: the response selector
  for the FAQ topics, DIET for the intents and entities, TED for the domain the dialogue
  policies see (intents, entities, slots, actions, forms and responses, but not the FAQ
  topics' answers, which all sit under the one retrieval action ``utter_faq``:
  ``policy_domain``). Each gives every label a weight of its own, so none can take a new label
  by fine-tuning. The featurizers extend their vocabularies with the new words, as Rasa's
  fine-tuning does. Rasa's own check refuses to fine-tune when any label changed; here it
  still refuses a changed config.yml, and records the new labels' fingerprints.

The rest is Rasa's own `rasa train`, with the arguments given:

    python -m staff.rasa_train [--finetune LIVE_MODEL --epoch-fraction 0.1] [rasa train's options]
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Type

import dask.threaded
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.runner import dask as rasa_graph_runner
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.engine.training import graph_trainer, hooks
from rasa.graph_components.providers.domain_for_core_training_provider import DomainForCoreTrainingProvider
from rasa.graph_components.validators.finetuning_validator import (
    FINGERPRINT_CORE,
    FINGERPRINT_NLU,
    FinetuningValidator,
)
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.selectors.response_selector import ResponseSelector
from rasa.shared.core.domain import KEY_RESPONSES, Domain
from rasa.shared.importers.importer import TrainingDataImporter
from rasa.utils.tensorflow.constants import EPOCHS

from staff.releases import LIVE_DOMAIN, labels, read_from_model


def policy_domain(domain: Domain) -> Domain:
    """The domain as the dialogue policies train on it (Rasa's pruned domain), without the FAQ
    topics' answers (responses named ``utter_faq/<topic>``)."""
    pruned = DomainForCoreTrainingProvider.create_pruned_version(domain).as_dict()
    responses = pruned.get(KEY_RESPONSES) or {}
    pruned[KEY_RESPONSES] = {name: value for name, value in responses.items() if "/" not in name}
    return Domain.from_dict(pruned)


def models_to_train_anew(live: Domain, candidate: Domain) -> List[Type[GraphComponent]]:
    """The models whose labels differ between the live model's domain and the candidate's."""
    anew: List[Type[GraphComponent]] = []
    if labels(candidate)["FAQ topic"] != labels(live)["FAQ topic"]:
        anew.append(ResponseSelector)
    if set(candidate.intents) != set(live.intents) or set(candidate.entities) != set(live.entities):
        anew.append(DIETClassifier)
    if policy_domain(candidate).fingerprint() != policy_domain(live).fingerprint():
        anew.append(TEDPolicy)
    return anew


def _fine_tune_past_new_labels(live_model: str) -> None:
    """Fine-tuning when labels changed (module docstring)."""
    stored = read_from_model(Path(live_model), (LIVE_DOMAIN,))
    if stored is None:
        return  # Rasa's own check says what is missing
    # The files `staff train` trains from: the project's own, where it runs.
    candidate = TrainingDataImporter.load_from_config("config.yml", "domain.yml", ["data"]).get_domain()
    anew = models_to_train_anew(Domain.from_yaml(stored[0]), candidate)
    for model in anew:
        model.load = classmethod(functools.partial(_anew, model.create))
    if anew:
        rasas_check = FinetuningValidator._compare_or_memorize

        def check(
            validator: FinetuningValidator, fingerprint_key: str, new_fingerprint: str, error_message: str
        ) -> None:
            if fingerprint_key in (FINGERPRINT_CORE, FINGERPRINT_NLU):
                validator._fingerprints[fingerprint_key] = new_fingerprint  # the new labels, trained anew
            else:
                rasas_check(validator, fingerprint_key, new_fingerprint, error_message)

        FinetuningValidator._compare_or_memorize = check


def _anew(
    create: Callable[..., GraphComponent],
    cls: Type[GraphComponent],
    config: Dict[str, Any],
    model_storage: ModelStorage,
    resource: Resource,
    execution_context: ExecutionContext,
    **kwargs: Any,
) -> GraphComponent:
    """A new, untrained model with its epochs from config.yml (to the fraction's rounding), in
    place of the live model's."""
    epochs = round(config[EPOCHS] / (config.get("finetuning_epoch_fraction") or 1.0))
    fresh = dataclasses.replace(execution_context, is_finetuning=False)
    return create({**config, EPOCHS: epochs}, model_storage, resource, fresh)


class _NothingCached(hooks.TrainingHook):
    def on_before_node(self, *args: Any, **kwargs: Any) -> Dict:
        return {}

    def on_after_node(self, *args: Any, **kwargs: Any) -> None:
        return None


def main() -> None:
    from rasa.__main__ import main as rasa

    graph_trainer.TrainingHook = _NothingCached
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    arguments = sys.argv[1:]
    if "--finetune" in arguments:
        # Rasa's graph runner calls `dask.get` (rasa/engine/runner/dask.py); it gets dask's
        # thread pool instead. TensorFlow and scikit-learn release the GIL while they compute.
        # With --force there is no fingerprint run, so only the training graph runs this way.
        workers = max(2, os.cpu_count() or 1)
        rasa_graph_runner.dask = SimpleNamespace(get=functools.partial(dask.threaded.get, num_workers=workers))
        _fine_tune_past_new_labels(arguments[arguments.index("--finetune") + 1])
    sys.argv = ["rasa", "train", "--force", *arguments]
    rasa()


if __name__ == "__main__":
    main()
