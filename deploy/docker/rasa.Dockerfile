# The Rasa server: REST, the website widget (socket.io) and Telegram, with the project's
# plugins (rasa_plugins/) and a model trained before the build (`make train`, or a version the
# gate passed: python -m staff), never trained inside the image. Build from the repository root:
#   docker build -f deploy/docker/rasa.Dockerfile -t back-pain-assistant/rasa .
# No secrets in the image: DATABASE_URL, PUBLISH_TOKEN and the Telegram variables come from the
# environment at run time (deploy/kubernetes/). The HTTP API stays off (rasa_plugins/server.py: on only with RASA_JWT_SECRET or RASA_API_TOKEN).

FROM python:3.10-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PATH=/opt/venv/bin:$PATH
WORKDIR /app
RUN python -m venv /opt/venv
COPY requirements.lock ./
# Exactly the locked versions, nothing resolved at build time.
RUN pip install pip==24.0 && pip install --no-deps -r requirements.lock && pip check
# The project's spaCy pipeline, built as `make spacy` builds it, at the path config.yml names.
COPY nlp/ nlp/
COPY settings.py config.yml ./
RUN python -m nlp.build_spacy_pipeline build/spacy/en_back_pain
# WordLlama's word embeddings for topic retrieval, fetched as `make embeddings` does (hash-checked).
COPY wordllama.lock ./
RUN python -m nlp.word_embeddings

FROM python:3.10-slim
ARG MODEL=models/back-pain-assistant.tar.gz
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    OPENBLAS_NUM_THREADS=1 \
    TRACKER_SQLITE_FILE=/app/var/conversations.db \
    VERSIONS_DIR=/app/var/versions
RUN useradd --system --uid 10001 --gid 0 --home-dir /tmp --no-create-home assistant
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app/build/spacy build/spacy
COPY --from=build /app/build/wordllama build/wordllama
COPY rasa_plugins/ rasa_plugins/
COPY knowledge/ knowledge/
COPY nlp/ nlp/
COPY web/ web/
COPY red_flags/ red_flags/
COPY clinic/ clinic/
COPY widget/ widget/
COPY settings.py config.yml credentials.yml endpoints.yml ./
COPY ${MODEL} models/back-pain-assistant.tar.gz
# var/: conversations (SQLite, when DATABASE_URL is empty) and published versions; a volume.
RUN mkdir -p var && chown 10001:0 var
USER 10001
EXPOSE 5005
# /health answers 200 once the model is loaded (rasa_plugins/server.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=180s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/health', timeout=4)"]
CMD ["python", "-m", "rasa_plugins.server", "--model", "models/back-pain-assistant.tar.gz", "--port", "5005", \
     "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"]
