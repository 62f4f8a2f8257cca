"""The staff console: the web app where clinic staff read the conversations that need a look (app.py)."""
