"""Code the Rasa server loads and runs in its own process, named in its configuration files:

- config.yml: ``red_flag_nlu.RedFlagClassifier`` (the NLU component) and
  ``red_flag_policy.RedFlagFirstRulePolicy`` (red flags before forms);
- endpoints.yml: ``response_generator.ClinicResponseGenerator`` (every reply's text);
- endpoints.yml: ``tracker_store.ClinicSQLTrackerStore`` (conversations; "delete my data");
- credentials.yml: ``channels.rest`` and ``channels.telegram``.

The domain logic these call (red_flags/, clinic/) has no Rasa import. Importing this package
(the channels are loaded first) keeps personal data out of the server's logs from then on
(clinic/log_privacy.py), and checks custom actions' answers without re-checking Rasa's schema
on every call (action_results.py).
"""

from clinic import log_privacy
from rasa_plugins import action_results

log_privacy.install()
action_results.install()
