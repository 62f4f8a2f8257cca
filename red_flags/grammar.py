"""How the detector reads words: the word classes, concept groups and distances of
red_flags/grammar.yml, read once, and the form every pattern compares (``token_key``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, List

import yaml
from spacy.tokens import Token

GRAMMAR_FILE = Path(__file__).with_name("grammar.yml")


@dataclass(frozen=True)
class Grammar:
    negation_window: int
    near: int
    simile_window: int
    old_age: int
    irrealis_reach: int
    clause_breaks: FrozenSet[str]
    clause_words: FrozenSet[str]
    sentence_breaks: FrozenSet[str]
    scope_breaks: FrozenSet[str]
    contraction_lemmas: Dict[str, str]
    own_lemma: FrozenSet[str]
    answers_no: FrozenSet[str]
    quotes_and_dashes: FrozenSet[str]
    spreading_parts: FrozenSet[str]
    not_temperature: FrozenSet[str]
    simile_openers: FrozenSet[str]
    conditions: FrozenSet[str]
    symptom_pronouns: FrozenSet[str]
    question_openers: FrozenSet[str]
    possessives: FrozenSet[str]
    back_regions: FrozenSet[str]
    asking_verbs: FrozenSet[str]
    question_complements: FrozenSet[str]
    answers_yes: FrozenSet[str]
    supposing_words: FrozenSet[str]
    irrealis_words: FrozenSet[str]
    not_deniable: FrozenSet[str]
    past_events: FrozenSet[str]
    lasting_history: FrozenSet[str]
    exertion_sensitive: FrozenSet[str]
    seat_sensitive: FrozenSet[str]
    dated_history: FrozenSet[str]
    history: FrozenSet[str]
    past_forms: FrozenSet[str]
    now_words: FrozenSet[str]
    hedges: FrozenSet[str]
    filter_groups: List[str]
    token_patterns: Dict[str, List[List[Dict[str, Any]]]]


def load_grammar(path: Path = GRAMMAR_FILE) -> Grammar:
    raw: Dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    word_classes = {name for name, value in raw.items() if isinstance(value, list) and name != "filter_groups"}
    fields: Dict[str, Any] = {name: frozenset(value) if name in word_classes else value for name, value in raw.items()}
    return Grammar(**fields)


GRAMMAR = load_grammar()


def token_key(token: Token) -> str:
    """The form patterns compare: the lemma, with contractions spelt out ("ca" -> "can")."""
    if token.lower_ in GRAMMAR.own_lemma:
        return token.lower_
    lemma = token.lemma_.lower() or token.lower_
    return GRAMMAR.contraction_lemmas.get(lemma, lemma)


Token.set_extension("red_flag_key", getter=token_key, force=True)
