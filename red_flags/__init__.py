"""Red-flag detection: symptoms with back pain that need emergency or urgent medical care.

``detector.RedFlagDetector`` finds them in a message; ``component.RedFlagDetector`` runs it
inside Rasa's NLU pipeline. ``evaluate`` measures it on a labelled set of phrasings.
"""
