"""What every web server of ours shares (the Rasa server, the action server, the staff console):
response headers, exact-origin CORS, shared-secret checks, access logs without query strings
(`security.py`, Sanic), and the rate limiter (`limits.py`, no framework)."""
