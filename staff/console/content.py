"""The project's own files that staff change from the console: FAQ topics (knowledge/*.yml, after
which data/faq/ is generated again), the clinic's answers (`answers:` in clinic/details.yml) and
conversation tests (tests/stories/). They are changed in place, in the project folder the
settings name, so the repository stays the single source of truth and a change is reviewed,
trained and published like any other.

ruamel.yaml reads and writes the files (a round trip keeps their comments, quoting and folded
answers), so a change's diff is the change alone. Each change is checked with the rules the
project's own loaders apply, and the file is put back as it was when it breaks one.
"""

from __future__ import annotations

import io
import re
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, FoldedScalarString, LiteralScalarString

import knowledge
from clinic.details import CLINIC_QUESTIONS, ClinicDetailsError, parse_details
from knowledge import generate
from staff.audit import Change
from staff.console.masking import personal_details_in
from staff.console.recorded_steps import earlier_steps, red_flag_refusal, why_not_written

KNOWLEDGE = "knowledge"
CLINIC_DETAILS = "clinic/details.yml"
CLINIC_TOPICS_FILE = "clinic.yml"  # the clinic's own topics, answered from CLINIC_DETAILS
CONVERSATION_TESTS = "tests/stories/test_conversations.yml"
DOMAIN = "domain.yml"
# A FAQ question is the retrieval intent faq/<topic>, answered by utter_faq (data/faq/rules.yml).
FAQ_INTENT, FAQ_ACTION = "faq", "utter_faq"
ANSWER_WIDTH = 96  # where the knowledge files fold their answers

# One change at a time: each reads a file, checks the result and writes it, and the console
# serves several staff at once.
writing = threading.Lock()


class ContentError(ValueError):
    """A change that cannot be made, in words for the person who asked for it."""


def round_trip_yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True  # type: ignore[assignment]  # ruamel's attributes are typed None
    yaml.width = 4096  # type: ignore[assignment]  # lines stay as they are; folded() folds new answers
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


class _Representer(RoundTripRepresenter):
    """Writes an empty value as `null`, as the files do (`article: null`), not as nothing."""


_Representer.add_representer(
    type(None), lambda representer, _: representer.represent_scalar("tag:yaml.org,2002:null", "null")
)


def dump(document: Any) -> str:
    yaml = round_trip_yaml()
    yaml.Representer = _Representer
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def folded(text: str, indent: int) -> FoldedScalarString:
    """An answer as the files write them: `>-`, folded at ANSWER_WIDTH."""
    text = " ".join(text.split())
    scalar = FoldedScalarString(text)
    positions, at = [], 0
    for line in textwrap.wrap(text, ANSWER_WIDTH - indent)[:-1]:
        at += len(line)
        positions.append(at)
        at += 1
    scalar.fold_pos = positions
    return scalar


def examples_in_use(root: Path) -> Dict[str, str]:
    """Every training example of the project in ``root`` (lower case) and its intent: an example
    under two intents stops `rasa data validate`, so the training."""
    used: Dict[str, str] = {}
    for path in root.glob("data/**/nlu.yml"):
        for block in round_trip_yaml().load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in str(block.get("examples") or "").splitlines():
                if line.startswith("- "):
                    used.setdefault(line[2:].strip().lower(), str(block.get("intent")))
    return used


def refuse_personal_details(texts: Sequence[str], region: str) -> None:
    for text in texts:
        found = personal_details_in(text, region)
        if found:
            raise ContentError(
                f"“{text}” contains {' and '.join(found)}. Training data and tests are kept in the "
                "project's files, so they may not hold anything that tells who a patient is: "
                "write the phrasing without it."
            )


@dataclass(frozen=True)
class TopicForm:
    """A topic as staff fill it in."""

    id: str
    title: str
    questions: List[str]
    answer: str
    follow_up: Optional[str] = None


class Project:
    """The files of the project in ``root`` that the console changes."""

    def __init__(self, root: Path, region: str) -> None:
        self.root = root
        self.region = region  # the clinic's country, for reading phone numbers

    # --- reading ---------------------------------------------------------------------------

    def knowledge_files(self) -> List[str]:
        return [path.name for path in sorted((self.root / KNOWLEDGE).glob("*.yml"))]

    def topics(self) -> List[knowledge.Topic]:
        return knowledge.load_topics(self.root / KNOWLEDGE)

    def topic(self, topic_id: str) -> Optional[knowledge.Topic]:
        return next((topic for topic in self.topics() if topic.id == topic_id), None)

    def topic_files(self) -> Dict[str, str]:
        """Which knowledge file holds each topic."""
        held = {}
        for name in self.knowledge_files():
            for entry in self._read(f"{KNOWLEDGE}/{name}").get("topics") or []:
                held[str(entry["id"])] = name
        return held

    def clinic_answers(self) -> Dict[str, str]:
        answers = self._read(CLINIC_DETAILS).get("answers") or {}
        return {question: " ".join(str(answers.get(question) or "").split()) for question in CLINIC_QUESTIONS}

    def _read(self, relative: str) -> Any:
        return round_trip_yaml().load((self.root / relative).read_text(encoding="utf-8"))

    # --- changing --------------------------------------------------------------------------

    def add_phrasing(self, topic_id: str, text: str) -> Change:
        """Adds a message, as the person wrote it, to the questions of a topic."""
        text = " ".join(text.split())
        refuse_personal_details([text], self.region)
        topic = self.topic(topic_id)
        if topic is None:
            raise ContentError(f"There is no topic {topic_id!r}.")
        for other in self.topics():
            if text.lower() in (question.lower() for question in other.questions):
                raise ContentError(f"“{text}” is already a phrasing of the topic “{other.title}”.")
        other_intent = examples_in_use(self.root).get(text.lower())
        if other_intent:
            raise ContentError(f"“{text}” is already an example of {other_intent}.")
        relative = f"{KNOWLEDGE}/{self.topic_files()[topic_id]}"

        def add(document: Any) -> None:
            entry = next(e for e in document["topics"] if e["id"] == topic_id)
            entry["questions"].append(text)

        return self._change_knowledge(relative, add, f"“{text}” added to the topic {topic_id}")

    def save_topic(self, form: TopicForm, file_name: Optional[str] = None) -> Change:
        """Writes a new topic into ``file_name`` (a knowledge file), or the topic's new title,
        questions, answer and follow-up over its old ones when ``file_name`` is None."""
        questions = [" ".join(q.split()) for q in form.questions if q.strip()]
        refuse_personal_details(questions, self.region)
        held = self.topic_files()
        if file_name is None:
            if form.id not in held:
                raise ContentError(f"There is no topic {form.id!r}.")
            relative, summary = f"{KNOWLEDGE}/{held[form.id]}", f"topic {form.id} changed"
        else:
            if file_name not in self.knowledge_files():
                raise ContentError(f"There is no knowledge file {file_name!r}.")
            if form.id in held:
                raise ContentError(f"A topic with the id {form.id!r} exists already, in {held[form.id]}.")
            relative, summary = f"{KNOWLEDGE}/{file_name}", f"new topic {form.id}"
        indent = 6  # answers sit under "  - id:" at this depth in every knowledge file

        def write(document: Any) -> None:
            if file_name is None:
                entry = next(e for e in document["topics"] if e["id"] == form.id)
            else:
                if document.get("topics") is None:
                    document["topics"] = CommentedSeq()
                entry = CommentedMap(id=form.id)
                document["topics"].append(entry)
            entry["title"] = form.title.strip()
            entry["questions"] = CommentedSeq(questions)
            answer = form.answer.strip()
            # A clinic topic's answer is its placeholder, quoted as the file writes it.
            placeholder = knowledge.PLACEHOLDER.fullmatch(answer)
            entry["answer"] = DoubleQuotedScalarString(answer) if placeholder else folded(answer, indent)
            if form.follow_up:
                entry["follow_up"] = form.follow_up
            elif "follow_up" in entry:
                del entry["follow_up"]

        return self._change_knowledge(relative, write, summary)

    def set_clinic_answers(self, answers: Dict[str, str]) -> Change:
        """The clinic's own answers (`answers:` in clinic/details.yml); empty means "ask us"."""
        unknown = set(answers) - set(CLINIC_QUESTIONS)
        if unknown:
            raise ContentError(f"There is no clinic question {', '.join(sorted(unknown))}.")
        path = self.root / CLINIC_DETAILS
        before = path.read_text(encoding="utf-8")
        document = round_trip_yaml().load(before)
        stored = document["answers"]
        changed = []
        for question, text in answers.items():
            text = " ".join(text.split())
            if text == " ".join(str(stored.get(question) or "").split()):
                continue  # untouched: keep the file's own folding
            stored[question] = folded(text, 4) if text else DoubleQuotedScalarString("")
            changed.append(question)
        if not changed:
            raise ContentError("Nothing was changed.")
        after = dump(document)
        try:
            parse_details(round_trip_yaml().load(after))
        except ClinicDetailsError as problem:
            raise ContentError(str(problem)) from None
        with writing:
            path.write_text(after, encoding="utf-8")
        return Change(CLINIC_DETAILS, "clinic answers changed: " + ", ".join(changed), before, after)

    def add_conversation_test(self, name: str, topic_id: str, recorded: Sequence[Dict[str, Any]]) -> Tuple[Change, str]:
        """A conversation test that a recorded message (the last user event of ``recorded``, the
        conversation's stored events up to it) is understood as the topic and answered with it,
        after the conversation's earlier turns as they happened. Returns the change and, when
        the earlier turns were left out, why (staff/console/recorded_steps.py)."""
        *earlier_events, message = recorded
        text = " ".join(str(message.get("text") or "").split())
        refuse_personal_details([text], self.region)
        if self.topic(topic_id) is None:
            raise ContentError(f"There is no topic {topic_id!r}.")
        refusal = red_flag_refusal(message)
        if refusal:
            raise ContentError(refusal)
        path = self.root / CONVERSATION_TESTS
        before = path.read_text(encoding="utf-8")
        document = round_trip_yaml().load(before)
        stories = document["stories"]
        if any(story.get("story") == name for story in stories):
            raise ContentError(f"There is a conversation test named “{name}” already.")
        left_out = why_not_written(earlier_events, self.region)
        earlier = [] if left_out else earlier_steps(earlier_events, self.root / DOMAIN, with_text=True)
        for step in earlier:
            if "user" in step:  # `user: |`, as the file writes messages
                step["user"] = LiteralScalarString(str(step["user"]).rstrip("\n") + "\n")
        user = LiteralScalarString(text + "\n")
        steps = CommentedSeq(
            [*earlier, CommentedMap(user=user, intent=f"{FAQ_INTENT}/{topic_id}"), CommentedMap(action=FAQ_ACTION)]
        )
        # Added as text after the last test (stories: is the file's last key), after a blank
        # line as between the others, so the rest of the file is untouched.
        after = before.rstrip("\n") + "\n\n" + dump(CommentedSeq([CommentedMap(story=name, steps=steps)]))
        if len(round_trip_yaml().load(after)["stories"]) != len(stories) + 1:
            raise ContentError(f"{CONVERSATION_TESTS} does not end with its tests; add this one by hand.")
        with writing:
            path.write_text(after, encoding="utf-8")
        return Change(CONVERSATION_TESTS, f"conversation test “{name}” added", before, after), left_out

    def _change_knowledge(self, relative: str, change, summary: str) -> Change:
        """Changes one knowledge file, checks every topic still loads, and generates data/faq."""
        path = self.root / relative
        with writing:
            before = path.read_text(encoding="utf-8")
            document = round_trip_yaml().load(before)
            change(document)
            after = dump(document)
            path.write_text(after, encoding="utf-8")
            try:
                generate.write_files(self.root)
            except knowledge.KnowledgeError as problem:
                path.write_text(before, encoding="utf-8")
                raise ContentError(_plain(str(problem))) from None
        return Change(relative, summary, before, after)


def _plain(problem: str) -> str:
    """A knowledge file's complaint, for the person filling in a form rather than editing YAML."""
    return re.sub(r"^[\w.-]+\.yml, ", "", problem).capitalize() + "."
