"""Conversation paths built in the console without YAML: the person says something (example
phrasings), the assistant answers with a response (one it has, or a new one with buttons),
starts a booking or a referral, or gives the clinic's contact details.

What the builder writes (in the project folder the settings name, like content.py):

- a new reply: a new intent (its phrasings in data/staff/nlu.yml, its name in domain.yml's
  intents), the response in domain.yml if it is new, and a rule in data/staff/rules.yml;
- a recorded conversation (*Save as story*): a story in data/staff/stories.yml of its turns as
  they happened, up to the message staff corrected, which ends it as a question of the chosen
  FAQ topic, answered (staff/console/recorded_steps.py);
- a booking, a referral or the contact details: the phrasings join the intent that already
  does that (book_appointment, request_referral, clinic_contact), so every rule about it,
  above all the red-flag gates in data/red_flags/rules.yml ("no massage booking after an
  emergency"), applies to them as it does to the others. A new intent starting the booking form
  would slip past those gates, so the builder never makes one.

The red-flag layer always comes first: the NLU component replaces the intent of a message with a
red flag by red_flag_emergency / red_flag_urgent, whatever the model read, and the rules answer
those before anything else. The builder also refuses a phrasing that is itself a red flag, which
would teach the model that such a message belongs to an ordinary intent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Sequence

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from knowledge import MIN_QUESTIONS
from red_flags.contract import ESCALATION_LEVELS
from settings import spacy_pipeline
from staff.audit import Change
from staff.console.content import (
    DOMAIN,
    FAQ_ACTION,
    FAQ_INTENT,
    ContentError,
    dump,
    examples_in_use,
    folded,
    refuse_personal_details,
    round_trip_yaml,
    writing,
)
from staff.console.recorded_steps import earlier_steps, red_flag_refusal, why_not_written

STAFF_NLU = "data/staff/nlu.yml"
STAFF_RULES = "data/staff/rules.yml"
STAFF_STORIES = "data/staff/stories.yml"
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
# What a step can do, and the intent that already does it when it is not a new reply.
NEW_REPLY, EXISTING_REPLY, BOOKING, REFERRAL, CONTACT = "new", "existing", "booking", "referral", "contact"
JOINS_INTENT = {BOOKING: "book_appointment", REFERRAL: "request_referral", CONTACT: "clinic_contact"}
KINDS = {
    EXISTING_REPLY: "answers with one of its responses",
    NEW_REPLY: "answers with a new response",
    BOOKING: "starts a booking request",
    REFERRAL: "starts a referral request",
    CONTACT: "gives the clinic's contact details",
}
# Responses a new path may not reuse: a form's questions and the red-flag layer's own replies.
NOT_REUSABLE = re.compile(r"^utter_(ask_|red_flag|booking_blocked|referral_blocked|default$|faq)")
# domain.yml's red-flag intents close its list of intents; staff's own go just before them.
RED_FLAG_HEADING = "  # --- red flags"
STAFF_HEADING = "  # --- built in the staff console (data/staff/) -------------------------------\n"
MIN_PHRASINGS_FOR_A_NEW_INTENT = MIN_QUESTIONS  # as many as a FAQ topic needs


@dataclass(frozen=True)
class Button:
    title: str
    intent: str  # what pressing it sends: /intent


@dataclass(frozen=True)
class StoryForm:
    intent: str
    description: str  # what the person wants, in words: the rule's name
    phrasings: List[str]
    kind: str
    response: str = ""  # an existing response's name (EXISTING_REPLY)
    text: str = ""  # a new response's text (NEW_REPLY)
    buttons: List[Button] = field(default_factory=list)


def _examples(block: str) -> List[str]:
    return [line[2:].strip() for line in block.splitlines() if line.startswith("- ")]


class StoryBuilder:
    def __init__(self, root: Path, region: str) -> None:
        self.root = root
        self.region = region

    def _domain(self) -> Any:
        return round_trip_yaml().load((self.root / DOMAIN).read_text(encoding="utf-8"))

    def intents(self) -> List[str]:
        return [str(intent) for intent in self._domain()["intents"]]

    def reusable_responses(self) -> List[str]:
        return [name for name in self._domain()["responses"] if not NOT_REUSABLE.match(name)]

    def _check(self, form: StoryForm, phrasings: List[str]) -> None:
        if form.kind not in KINDS:
            raise ContentError("Choose what the assistant does.")
        new_intent = form.kind in (NEW_REPLY, EXISTING_REPLY)
        if new_intent:
            if not INTENT_NAME.match(form.intent):
                raise ContentError("The name is 3 to 64 lower_case_letters, digits and underscores.")
            if form.intent in self.intents():
                raise ContentError(f"The assistant already has an intent named {form.intent}.")
            if len({p.lower() for p in phrasings}) < MIN_PHRASINGS_FOR_A_NEW_INTENT:
                raise ContentError(f"Give at least {MIN_PHRASINGS_FOR_A_NEW_INTENT} different phrasings.")
        elif not phrasings:
            raise ContentError("Give at least one phrasing.")
        refuse_personal_details(phrasings, self.region)
        used = examples_in_use(self.root)
        taken = [p for p in phrasings if p.lower() in used]
        if taken:
            raise ContentError(f"“{taken[0]}” is already an example of {used[taken[0].lower()]}.")
        self._refuse_red_flags(phrasings)
        if form.kind == EXISTING_REPLY and form.response not in self.reusable_responses():
            raise ContentError("Choose one of the assistant's responses.")
        if form.kind == NEW_REPLY and not form.text.strip():
            raise ContentError("Write the new response.")
        unknown = [b.intent for b in form.buttons if b.intent not in self.intents()]
        if unknown:
            raise ContentError(f"A button sends an intent the assistant has: not {unknown[0]}.")

    def _refuse_red_flags(self, phrasings: List[str]) -> None:
        from red_flags.detector import detector_for  # spaCy, loaded when a path is first built

        detector = detector_for(str(spacy_pipeline()))
        for phrasing in phrasings:
            finding = detector(phrasing)
            if finding and finding.level in ESCALATION_LEVELS:
                raise ContentError(
                    f"“{phrasing}” describes a red flag ({finding.level}): the assistant must answer it "
                    "with emergency or urgent advice, so it cannot be a phrasing of an ordinary path."
                )

    def build(self, form: StoryForm) -> List[Change]:
        """Writes the path; returns a change per file it wrote."""
        phrasings = list(dict.fromkeys(" ".join(p.split()) for p in form.phrasings if p.strip()))
        self._check(form, phrasings)
        intent = JOINS_INTENT.get(form.kind, form.intent)
        with writing:
            changes = [self._add_phrasings(intent, phrasings)]
            if form.kind in (NEW_REPLY, EXISTING_REPLY):
                response = f"utter_{form.intent}" if form.kind == NEW_REPLY else form.response
                changes.append(self._add_to_domain(form, response))
                changes.append(self._add_rule(form, response))
        return changes

    def recorded_story(self, name: str, recorded: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """The steps of a training story of a recorded conversation (its stored events up to
        and including the corrected message, the last user event): the turns before it as they
        happened, then the message as a FAQ question, answered. Refuses, writing nothing, what
        cannot be one."""
        *earlier_events, message = recorded
        refusal = red_flag_refusal(message)
        if refusal:
            raise ContentError(refusal)
        self._refuse_a_taken_name(name, self._load_or_start(STAFF_STORIES, "stories"))
        left_out = why_not_written(earlier_events, self.region)
        if left_out:
            raise ContentError(f"Not saved as a story: {left_out}, which training data may not hold.")
        earlier = earlier_steps(earlier_events, self.root / DOMAIN, with_text=False)
        if not any("intent" in step for step in earlier):
            raise ContentError(
                "Nothing comes before this message to learn from: every FAQ question is answered "
                "by the same rule, so teach the phrasing instead."
            )
        return [*earlier, CommentedMap(intent=FAQ_INTENT), CommentedMap(action=FAQ_ACTION)]

    def add_story(self, name: str, steps: List[Dict[str, Any]]) -> Change:
        """Writes a story (``recorded_story``) into data/staff/stories.yml."""
        with writing:
            document = self._load_or_start(STAFF_STORIES, "stories")
            self._refuse_a_taken_name(name, document)
            document["stories"].append(CommentedMap([("story", name), ("steps", CommentedSeq(steps))]))
            return self._write(STAFF_STORIES, dump(document), f"story: {name}")

    @staticmethod
    def _refuse_a_taken_name(name: str, document: Any) -> None:
        if any(story.get("story") == name for story in document["stories"]):
            raise ContentError(f"There is a story named “{name}” already.")

    def _load_or_start(self, relative: str, key: str) -> Any:
        path = self.root / relative
        if path.exists():
            return round_trip_yaml().load(path.read_text(encoding="utf-8"))
        started = CommentedMap([("version", DoubleQuotedScalarString("3.1")), (key, CommentedSeq())])
        started.yaml_set_start_comment("Conversation paths built in the staff console (staff/console/stories.py).")
        return started

    def _write(self, relative: str, after: str, summary: str) -> Change:
        path = self.root / relative
        before = path.read_text(encoding="utf-8") if path.exists() else ""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(after, encoding="utf-8")
        return Change(relative, summary, before, after)

    def _add_phrasings(self, intent: str, phrasings: List[str]) -> Change:
        document = self._load_or_start(STAFF_NLU, "nlu")
        block = next((b for b in document["nlu"] if b.get("intent") == intent), None)
        if block is None:
            block = CommentedMap([("intent", intent), ("examples", "")])
            document["nlu"].append(block)
        examples = _examples(str(block["examples"])) + phrasings
        block["examples"] = LiteralScalarString("".join(f"- {example}\n" for example in examples))
        return self._write(STAFF_NLU, dump(document), f"{len(phrasings)} phrasings for {intent}")

    def _add_to_domain(self, form: StoryForm, response: str) -> Change:
        before = (self.root / DOMAIN).read_text(encoding="utf-8")
        # The intent goes in as a line, under the console's own heading, so the file's layout
        # and comments stay as they are (a round trip would file it under another heading).
        lines = before.splitlines(keepends=True)
        at = next((i for i, line in enumerate(lines) if line.startswith(RED_FLAG_HEADING)), None)
        if at is None:
            raise ContentError(f"{DOMAIN} has changed shape: add the intent {form.intent} by hand.")
        lines[at:at] = ([] if STAFF_HEADING in lines else [STAFF_HEADING]) + [f"  - {form.intent}\n"]
        document = round_trip_yaml().load("".join(lines))
        if form.kind == NEW_REPLY:
            reply: Dict[str, Any] = {"text": folded(form.text, 8)}
            if form.buttons:
                reply["buttons"] = [{"title": b.title, "payload": f"/{b.intent}"} for b in form.buttons]
            document["responses"][response] = [CommentedMap(reply)]
        after = dump(document)
        return self._write(
            DOMAIN, after, f"intent {form.intent}" + (f" and {response}" if form.kind == NEW_REPLY else "")
        )

    def _add_rule(self, form: StoryForm, response: str) -> Change:
        document = self._load_or_start(STAFF_RULES, "rules")
        steps = CommentedSeq([CommentedMap(intent=form.intent), CommentedMap(action=response)])
        name = form.description.strip() or form.intent.replace("_", " ")
        document["rules"].append(CommentedMap([("rule", name), ("steps", steps)]))
        return self._write(STAFF_RULES, dump(document), f"rule: {form.intent} is answered with {response}")


def parse_buttons(text: str) -> List[Button]:
    """Buttons written one a line as "title = intent"."""
    buttons = []
    for line in text.splitlines():
        if not line.strip():
            continue
        title, _, intent = line.partition("=")
        if not title.strip() or not intent.strip():
            raise ContentError(f"Write each button as “title = intent”, not “{line.strip()}”.")
        buttons.append(Button(title.strip(), intent.strip()))
    return buttons
