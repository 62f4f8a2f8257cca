"""Code the Rasa server loads and runs in its own process, named in its configuration files:

- config.yml: ``red_flag_nlu.RedFlagClassifier`` (the NLU component) and
  ``red_flag_policy.RedFlagFirstRulePolicy`` (red flags before forms);
- endpoints.yml: ``response_generator.ClinicResponseGenerator`` (every reply's text);
- endpoints.yml: ``tracker_store.ClinicSQLTrackerStore`` (conversations; "delete my data");
- credentials.yml: ``channels.rest`` and ``channels.telegram``.

The domain logic these call (red_flags/, clinic/) has no Rasa import. Importing this package
(the channels are loaded first) keeps personal data out of the server's logs from then on
(clinic/log_privacy.py), and removes work Rasa repeats on every message (hot_path.py).
"""

from clinic import log_privacy
from rasa_plugins import hot_path

log_privacy.install()
hot_path.install()
