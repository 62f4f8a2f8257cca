"""Tools for clinic staff. `python -m staff --help` lists them."""
