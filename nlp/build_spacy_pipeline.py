"""Builds the spaCy pipeline the NLU pipeline loads (config.yml: SpacyNLP model).

Pretrained spaCy packages cannot be downloaded from the package registries, so the project
builds its own, reproducibly, from a blank English pipeline:
- a lookup lemmatizer with the tables of the spacy-lookups-data package;
- an attribute ruler that gives misspellings and text-speak (nlp/spelling.yml) the lemma and
  norm of the word they stand for.

    python -m nlp.build_spacy_pipeline build/spacy/en_back_pain
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List

import spacy
import yaml
from spacy.pipeline import AttributeRuler, Lemmatizer

SPELLING_FILE = Path(__file__).with_name("spelling.yml")
PIPELINE_NAME = "back_pain"
PIPELINE_VERSION = "1.0.0"


def load_spelling_variants(path: Path = SPELLING_FILE) -> Dict[str, List[str]]:
    variants = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(word): [str(v).lower() for v in spellings] for word, spellings in variants.items()}


def build(spelling: Dict[str, List[str]]) -> spacy.language.Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler: AttributeRuler = nlp.add_pipe("attribute_ruler")  # type: ignore[assignment]
    nlp.initialize()  # loads the lemma lookup tables from spacy-lookups-data
    lemmatizer: Lemmatizer = nlp.get_pipe("lemmatizer")  # type: ignore[assignment]
    lemmas = lemmatizer.lookups.get_table("lemma_lookup")
    for word, variants in spelling.items():
        ruler.add(
            patterns=[[{"LOWER": {"IN": variants}}]],
            # The lemma the correct spelling would get, so "tingleing" and "tingling" agree.
            attrs={"LEMMA": lemmas.get(word, word), "NORM": word},
        )
    nlp.meta.update(
        {
            "name": PIPELINE_NAME,
            "version": PIPELINE_VERSION,
            "description": "Blank English + lookup lemmas + the project's spelling patterns",
        }
    )
    return nlp


def main(argv: List[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    output = Path(argv[0])
    nlp = build(load_spelling_variants())
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    print(f"spaCy pipeline written to {output} ({', '.join(nlp.pipe_names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
