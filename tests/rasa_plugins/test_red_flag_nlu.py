"""The red-flag component's training (rasa_plugins/red_flag_nlu.py): a fine-tuning reuses the
live model's normalised phrasings only while normalising works as it did for that model, and a
full training starts from the model `staff train` names."""

import pickle
import shutil
import tarfile

import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_plugins.red_flag_nlu import NORMALISED_FILE, RedFlagClassifier, _normalising_fingerprint
from red_flags.classifier import normalise
from settings import settings, spacy_pipeline

SET = {
    "emergency": {"bladder_bowel": ["i wet myself and my back hurts", "cant control my bladder, back pain"]},
    "urgent": {"injury_onset": ["fell off a ladder and hurt my back", "back hurts since the car crash"]},
    "near_misses": ["no numbness at all", "my legs are fine"],
    "weak_single_sign": ["my back aches at night"],
}


def test_what_normalising_depends_on_is_fingerprinted_down_to_one_lookup_table(tmp_path):
    built = _normalising_fingerprint(str(spacy_pipeline()))
    copy = shutil.copytree(spacy_pipeline(), tmp_path / "pipeline")
    assert _normalising_fingerprint(str(copy)) == built  # where it is does not matter
    lookups = copy / "lemmatizer" / "lookups" / "lookups.bin"
    lookups.write_bytes(lookups.read_bytes() + b"\0")  # another build's spelling fixes
    assert _normalising_fingerprint(str(copy)) != built


def test_a_fine_tuning_reuses_the_live_models_normalised_phrasings_only_from_the_same_pipeline(tmp_path):
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "set_1.yml").write_text(yaml.safe_dump(SET))
    config = {"spacy_pipeline": str(spacy_pipeline()), "development_sets": str(tmp_path / "sets" / "*.yml")}
    (tmp_path / "model").mkdir()
    storage, resource = LocalModelStorage(tmp_path / "model"), Resource("red_flags")
    phrasings = TrainingData([Message.build("does deep tissue masage hurt", intent="faq")])
    component = RedFlagClassifier.create(config, storage, resource, ExecutionContext(GraphSchema({})))
    component.train(phrasings)
    read_afresh = normalise(component._detector.nlp("does deep tissue masage hurt"))
    assert "massage" in read_afresh  # the pipeline's spelling fix

    def fine_tuned(pipeline_of_the_live_model: str) -> dict:
        """What a fine-tuning stores, from a live model whose stored phrasing was marked."""
        live = RedFlagClassifier.load(config, storage, resource, ExecutionContext(GraphSchema({}), is_finetuning=True))
        live._normalised["phrasings"]["does deep tissue masage hurt"] = "marked"
        live._normalised["pipeline"] = pipeline_of_the_live_model
        live.train(phrasings)
        return stored()

    def stored() -> dict:
        with storage.read_from(resource) as directory:
            return pickle.loads((directory / NORMALISED_FILE).read_bytes())["phrasings"]

    assert stored()["does deep tissue masage hurt"] == read_afresh
    assert fine_tuned(_normalising_fingerprint(str(spacy_pipeline())))["does deep tissue masage hurt"] == "marked"
    assert fine_tuned("another build")["does deep tissue masage hurt"] == read_afresh


def test_a_full_training_starts_from_the_model_staff_train_names(tmp_path, monkeypatch):
    """`staff train` names the live model (RED_FLAG_START_MODEL); the classifier of a full training
    starts from that model's weights and reuses its normalised phrasings."""
    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "set_1.yml").write_text(yaml.safe_dump(SET))
    config = {"spacy_pipeline": str(spacy_pipeline()), "development_sets": str(tmp_path / "sets" / "*.yml")}
    phrasings = TrainingData([Message.build("does deep tissue masage hurt", intent="faq")])
    context = ExecutionContext(GraphSchema({}))

    def trained(folder: str) -> RedFlagClassifier:
        (tmp_path / folder).mkdir()
        storage = LocalModelStorage(tmp_path / folder)
        component = RedFlagClassifier.create(config, storage, Resource("red_flags"), context)
        component.train(phrasings)
        return component

    from_zero = trained("from_zero")
    # The live model's archive, laid out as Rasa packs one; its stored phrasing marked to see it reused.
    live = tmp_path / "live.tar.gz"
    with LocalModelStorage(tmp_path / "from_zero").read_from(Resource("red_flags")) as directory:
        normalised = pickle.loads((directory / NORMALISED_FILE).read_bytes())
        normalised["phrasings"]["does deep tissue masage hurt"] = "marked"
        (directory / NORMALISED_FILE).write_bytes(pickle.dumps(normalised))
        with tarfile.open(live, "w:gz") as archive:
            archive.add(directory, "components/train_rasa_plugins.red_flag_nlu.RedFlagClassifier12")
    monkeypatch.setenv("RED_FLAG_START_MODEL", str(live))
    settings.cache_clear()
    try:
        started = trained("started")
    finally:
        settings.cache_clear()
    assert started._normalised["phrasings"]["does deep tissue masage hurt"] == "marked"
    assert from_zero._model and started._model
    iterations = [model.pipeline.steps[-1][1].n_iter_.max() for model in (from_zero._model, started._model)]
    assert iterations[1] < iterations[0], iterations
