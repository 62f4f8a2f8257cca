# The action server: bookings, referrals, cancellations, escalation records and staff
# notifications (actions/), reached only by the Rasa server. Build from the repository root:
#   docker build -f deploy/docker/actions.Dockerfile -t back-pain-assistant/actions .
# No secrets in the image: DATABASE_URL and STAFF_WEBHOOK_URL come from the environment at run time.

FROM python:3.10-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PATH=/opt/venv/bin:$PATH
WORKDIR /app
RUN python -m venv /opt/venv
COPY requirements.lock ./
# Exactly the locked versions, nothing resolved at build time.
RUN pip install pip==24.0 && pip install --no-deps -r requirements.lock && pip check

FROM python:3.10-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    CLINIC_SQLITE_FILE=/app/var/clinic.db
RUN useradd --system --uid 10001 --gid 0 --home-dir /tmp --no-create-home assistant
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY actions/ actions/
COPY booking/ booking/
COPY clinic/ clinic/
COPY knowledge/ knowledge/
COPY red_flags/ red_flags/
COPY web/ web/
COPY settings.py config.yml ./
# var/: the clinic's records in SQLite when DATABASE_URL is empty (a volume).
RUN mkdir -p var && chown 10001:0 var
USER 10001
EXPOSE 5055
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5055/health', timeout=4)"]
# In a container the action server listens on the pod's address; ACTION_SERVER_SECRET (from the
# environment) keeps every caller but the Rasa server out (actions/server.py).
ENV ACTION_HOST=0.0.0.0 ACTION_PORT=5055
CMD ["python", "-m", "actions.server"]
