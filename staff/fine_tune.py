"""`rasa train --finetune`, as `staff train` runs it (staff/releases.py), without the
fingerprints Rasa takes for its training cache.

During a training Rasa's TrainingHook fingerprints every graph node's inputs and outputs, so
that its cache can restore them next time, and does so even with the cache off
(RASA_MAX_CACHE_SIZE=0), as fine-tuning must run it (``main``). Hashing the featurised training data after each NLU
component took 22 of a fine-tuning's 86 seconds (py-spy, 2026-12-05). Here that hook does
nothing; the rest is Rasa's own `rasa train`, with the arguments given.

    python -m staff.fine_tune --finetune LIVE_MODEL --epoch-fraction 0.1 [rasa train's options]
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict

from rasa.engine.training import graph_trainer, hooks


class _NothingCached(hooks.TrainingHook):
    def on_before_node(self, *args: Any, **kwargs: Any) -> Dict:
        return {}

    def on_after_node(self, *args: Any, **kwargs: Any) -> None:
        return None


def main() -> None:
    from rasa.__main__ import main as rasa

    graph_trainer.TrainingHook = _NothingCached
    # No cache either: its keys do not say which model a featurizer's vocabulary was extended
    # from, so a cached one could feed the live model's weights other columns.
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    sys.argv = ["rasa", "train", *sys.argv[1:]]
    rasa()


if __name__ == "__main__":
    main()
