"""The paths that files other than settings.py must state again agree with settings.py."""

import re

from settings import MODEL_FILE, PROJECT_DIR, spacy_pipeline, word_embeddings_dir


def makefile_variable(name: str) -> str:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    [value] = re.findall(rf"^{name} := (.+)$", makefile, flags=re.MULTILINE)
    return value.strip()


def test_the_makefile_builds_the_spacy_pipeline_config_yml_names():
    assert PROJECT_DIR / makefile_variable("SPACY_PIPELINE") == spacy_pipeline()


def test_the_makefile_trains_the_model_the_servers_load():
    assert PROJECT_DIR / makefile_variable("MODEL") == MODEL_FILE


def test_the_makefile_extracts_the_word_embeddings_where_settings_reads_them():
    assert PROJECT_DIR / makefile_variable("WORD_EMBEDDINGS") == word_embeddings_dir()
