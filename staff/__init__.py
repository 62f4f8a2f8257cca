"""Tools for clinic staff. `python -m staff --help` lists them."""

from clinic import log_privacy

log_privacy.install()  # the console and the commands log no personal data (clinic/log_privacy.py)
