"""Versions made by a test, not by a training: what the gate must catch."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

from rasa_plugins.red_flag_nlu import MODEL_FILE as RED_FLAG_MODEL_FILE
from red_flags.classifier import NO_RED_FLAG

SILENCED = 50.0  # taken off each red-flag class's intercept: its probability becomes ~e^-50


def with_red_flag_classifier_silenced(model: Path, copy: Path) -> Path:
    """A copy of ``model`` whose red-flag classifier never names a red flag, as a training that
    lost its red-flag examples would give: only the detector's lexicon still escalates."""
    with tarfile.open(model, "r:gz") as source, tarfile.open(copy, "w:gz", compresslevel=1) as target:
        for member in source:
            data = source.extractfile(member) if member.isfile() else None
            if data is not None and "RedFlagClassifier" in member.name and member.name.endswith(RED_FLAG_MODEL_FILE):
                pipeline = pickle.loads(data.read())  # noqa: S301  (our own model archive)
                regression = pipeline.steps[-1][1]
                for index, label in enumerate(regression.classes_):
                    if label != NO_RED_FLAG:
                        regression.intercept_[index] -= SILENCED
                silenced = pickle.dumps(pipeline)
                member.size = len(silenced)
                target.addfile(member, io.BytesIO(silenced))
            else:
                target.addfile(member, data)
    return copy
