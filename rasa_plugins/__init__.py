"""Code the Rasa server loads and runs in its own process, named in its configuration files:

- config.yml: ``red_flag_nlu.RedFlagClassifier`` (the NLU component) and
  ``red_flag_policy.RedFlagFirstRulePolicy`` (red flags before forms);
- endpoints.yml: ``response_generator.ClinicResponseGenerator`` (every reply's text);
- credentials.yml: ``channels.rest`` and ``channels.telegram``.

The domain logic these call (red_flags/, clinic/) has no Rasa import.
"""
