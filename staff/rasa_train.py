"""`rasa train`, as `staff train` runs it (staff/releases.py): without Rasa's training cache,
and with the components that do not depend on each other trained side by side.

- **No cache.** Rasa's TrainingHook fingerprints every graph node's inputs and outputs so that
  its cache can restore them next time, and does so even with the cache off. Hashing the
  featurised training data after each NLU component took 22 of a fine-tuning's 86 seconds
  (py-spy, 2026-12-05). Here that hook does nothing, and the fingerprint run that looks for
  cached results is skipped (``--force``). The cache could not help staff anyway: their
  changes (a phrasing, an answer, a topic) change the NLU training data, which every NLU
  component reads. Its keys also do not say which model a featurizer's vocabulary was
  extended from when fine-tuning, so a cached one could feed the live model's weights other
  columns, nor see a rebuilt spaCy pipeline (same path, new contents).
- **Side by side.** Rasa runs its training graph one node at a time (``dask.get``), and one
  TensorFlow training keeps about 1.1 of this machine's 2 cores busy. Here the graph runs
  on dask's thread pool, so the dialogue policies, DIET, the response selector and the
  red-flag classifier train at the same time once their inputs are ready: a full training
  went from 291 s to 213 s (benchmarks, "How long staff wait for a candidate"). The models
  then draw their random numbers (batch order, dropout) in no fixed order, so the same files
  give a slightly different model each time: the gate judges each candidate. `make train`
  keeps Rasa's runner, so the model the tests use is the same every time.

The rest is Rasa's own `rasa train`, with the arguments given:

    python -m staff.rasa_train [--finetune LIVE_MODEL --epoch-fraction 0.1] [rasa train's options]
"""

from __future__ import annotations

import functools
import os
import sys
from types import SimpleNamespace
from typing import Any, Dict

import dask.threaded
from rasa.engine.runner import dask as rasa_graph_runner
from rasa.engine.training import graph_trainer, hooks


class _NothingCached(hooks.TrainingHook):
    def on_before_node(self, *args: Any, **kwargs: Any) -> Dict:
        return {}

    def on_after_node(self, *args: Any, **kwargs: Any) -> None:
        return None


def main() -> None:
    from rasa.__main__ import main as rasa

    graph_trainer.TrainingHook = _NothingCached
    # Rasa's graph runner calls `dask.get` (rasa/engine/runner/dask.py); it gets dask's thread
    # pool instead. TensorFlow and scikit-learn release the GIL while they compute. With
    # --force there is no fingerprint run, so only the training graph runs this way.
    workers = max(2, os.cpu_count() or 1)
    rasa_graph_runner.dask = SimpleNamespace(get=functools.partial(dask.threaded.get, num_workers=workers))
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    sys.argv = ["rasa", "train", "--force", *sys.argv[1:]]
    rasa()


if __name__ == "__main__":
    main()
