"""The red-flag component's training (rasa_plugins/red_flag_nlu.py): a fine-tuning reuses the
live model's normalised phrasings only while the spaCy pipeline still reads them the same way."""

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource

from rasa_plugins.red_flag_nlu import RedFlagClassifier
from red_flags.classifier import normalise
from settings import spacy_pipeline


def test_the_live_models_normalised_phrasings_are_reused_only_if_the_pipeline_still_agrees(tmp_path):
    config = {**RedFlagClassifier.get_default_config(), "spacy_pipeline": str(spacy_pipeline())}
    component = RedFlagClassifier.create(
        config, LocalModelStorage(tmp_path), Resource("red_flags"), ExecutionContext(GraphSchema({}))
    )
    nlp = component._detector.nlp
    phrasings = ["my legs went numbb last night", "i cant feel my feet", "does deep tissue massage hurt"]
    live = {text: normalise(nlp(text)) for text in phrasings}
    assert live["my legs went numbb last night"] != "my legs went numbb last night"  # the pipeline does change them
    assert component._still_valid(live) == live
    # As read by another build of the pipeline: nothing of it is kept.
    assert component._still_valid({**live, "i cant feel my feet": "i cant feel my feet"}) == {}
