"""The rule policy, with one change: a red flag is answered before an active form.

Rasa's RulePolicy always lets an active form (a loop) try the message first; the form would
then need the action server to read it. A red flag must not wait for anything, so when the
latest message is an escalation the form is skipped and the red-flag rules
(data/red_flags/rules.yml) reply, end the form and record the escalation.
"""

from __future__ import annotations

from typing import Optional, Tuple

from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.trackers import DialogueStateTracker

from red_flags.contract import ESCALATION_INTENTS


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class RedFlagFirstRulePolicy(RulePolicy):
    @staticmethod
    def _find_action_from_loop_happy_path(
        tracker: DialogueStateTracker,
    ) -> Tuple[Optional[str], Optional[str]]:
        # For the whole turn: after the reply, the rules (not the form) end the form.
        if (
            tracker.active_loop_name
            and tracker.latest_message
            and tracker.latest_message.intent.get("name") in ESCALATION_INTENTS
        ):
            return None, None
        return RulePolicy._find_action_from_loop_happy_path(tracker)
