"""Red-flag detection: symptoms with back pain that need emergency or urgent medical care.

Domain logic, no Rasa import: ``contract`` names what every process shares, ``detector``
reads a message with the lexicon (``lexicon.yml``) and its filters, ``classifier`` is the
trained second opinion, ``categories`` explains each category in plain words and ``evaluate``
measures all of it on a labelled set. The Rasa server runs them through
``rasa_plugins.red_flag_nlu.RedFlagClassifier``.
"""
