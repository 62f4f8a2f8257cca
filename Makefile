# `make run` and `make test` do every set-up step that is missing, in order:
# virtual environment -> locked dependencies -> spaCy pipeline -> FAQ data -> trained model.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION := $(shell cat .python-version)
# pyenv's shim (or any python3.10 on PATH) provides the interpreter Rasa 3.6 needs.
PYTHON ?= $(shell command -v python$(PYTHON_VERSION) || echo python$(PYTHON_VERSION))
VENV := .venv
BIN := $(abspath $(VENV))/bin
INSTALLED := $(VENV)/.installed-from-lock
# Stated again in settings.py and config.yml, which Make cannot read; tests/test_settings.py
# checks that the three agree.
SPACY_PIPELINE := build/spacy/en_back_pain
MODEL := models/back-pain-assistant.tar.gz
# WordLlama's tokenizer and word embeddings (nlp/word_embeddings.py), from the wheel wordllama.lock pins.
WORD_EMBEDDINGS := build/wordllama
TRAINING_DATA := $(shell find data -name '*.yml' 2>/dev/null)
KNOWLEDGE := $(wildcard knowledge/*.yml knowledge/*.py)
# The red-flag classifier is trained with the model, on the development sets.
RED_FLAG_TRAINING := $(wildcard datasets/training/red_flags/*.yml) red_flags/classifier.py rasa_plugins/red_flag_nlu.py

# Runtime configuration (README "Configuration"); override on the command line or environment.
export RASA_PORT ?= 5005
export ACTION_PORT ?= 5055
export STAFF_PORT ?= 5002
export ACTION_HOST ?= 127.0.0.1
export ACTION_SERVER_URL ?= http://127.0.0.1:$(ACTION_PORT)/webhook
# Secrets (README "Deploying safely"): empty means the HTTP API is off, the action server gets a
# random secret per start, and the REST channel takes no token.
export RASA_API_TOKEN ?=
export RASA_JWT_SECRET ?=
export ACTION_SERVER_SECRET ?=
export REST_TOKEN ?=
export MESSAGES_PER_MINUTE_PER_CONVERSATION ?= 30
export MESSAGES_PER_MINUTE_PER_ADDRESS ?= 300
export MAX_MESSAGE_CHARACTERS ?= 10000
export MAX_REQUEST_BYTES ?= 100000
export DATABASE_URL ?=
export TRACKER_SQLITE_FILE ?= var/conversations.db
export CLINIC_SQLITE_FILE ?= var/clinic.db
# Rasa processes sharing port 5005, one per core by default; each holds the model (~1.5 GB).
export RASA_PROCESSES ?= $(shell nproc)
export LOCK_SQLITE_FILE ?= var/locks.db
export REDIS_URL ?=
export STAFF_WEBHOOK_URL ?=
export RASA_TELEMETRY_ENABLED ?= false
export TF_CPP_MIN_LOG_LEVEL ?= 2
# OpenBLAS's worker threads spin between numpy's small products and burnt a second core for
# nothing: one thread halves the Rasa server's CPU time per message at the same latency
# (docs/benchmarks.md).
export OPENBLAS_NUM_THREADS ?= 1
export ASSISTANT_MODEL := $(CURDIR)/$(MODEL)
export PYTHONPATH := $(CURDIR)

.PHONY: help setup run cluster shell test test-fast check format data spacy embeddings train evaluate profile benchmark benchmark-publish benchmark-training tune-fallback tune-topics red-flags-report lock clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS=":.*## "} {printf "  make %-14s %s\n", $$1, $$2}'

$(INSTALLED): requirements.lock .python-version
	@command -v $(PYTHON) >/dev/null || { echo "Python $(PYTHON_VERSION) not found: install it (pyenv install $(PYTHON_VERSION)) or pass PYTHON=/path/to/python$(PYTHON_VERSION)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check pip==24.0
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(BIN)/pip check
	touch $@

$(SPACY_PIPELINE)/meta.json: $(INSTALLED) nlp/build_spacy_pipeline.py nlp/spelling.yml
	$(BIN)/python -m nlp.build_spacy_pipeline $(SPACY_PIPELINE)

# Only PyPI is reached: one wheel, its hash checked by pip (nlp/word_embeddings.py).
$(WORD_EMBEDDINGS)/embeddings.safetensors: $(INSTALLED) wordllama.lock nlp/word_embeddings.py
	$(BIN)/python -m nlp.word_embeddings
	touch $@

data/faq/nlu.yml data/faq/responses.yml &: $(INSTALLED) $(KNOWLEDGE)
	$(BIN)/python -m knowledge.generate

$(MODEL): $(SPACY_PIPELINE)/meta.json $(WORD_EMBEDDINGS)/embeddings.safetensors data/faq/nlu.yml data/faq/responses.yml config.yml domain.yml $(TRAINING_DATA) $(RED_FLAG_TRAINING) rasa_plugins/topic_retrieval.py knowledge/retrieval.py
	# --force: Rasa's cache cannot see a rebuilt spaCy pipeline (same path, new contents). Rasa's
	# own graph runner, one component at a time: the same files give the same model (`staff
	# train`'s side-by-side training, staff/rasa_train.py, does not).
	$(BIN)/rasa train --force --fixed-model-name back-pain-assistant --out models
	touch $@

setup: $(MODEL)  ## install, build and train whatever is missing or out of date

spacy: $(SPACY_PIPELINE)/meta.json  ## build the spaCy pipeline
embeddings: $(WORD_EMBEDDINGS)/embeddings.safetensors  ## download and check WordLlama's word embeddings
data: data/faq/nlu.yml  ## regenerate the FAQ training data from knowledge/
train: $(MODEL)  ## train the model if data or config changed

run: setup  ## start the action server (5055), the assistant (5005) and the staff console (5002)
	@scripts/run-servers.sh

cluster: setup  ## PostgreSQL, Redis, 2 Rasa replicas with their action servers, haproxy on 5005, staff console
	$(BIN)/python -m scripts.cluster

shell: setup  ## chat with the assistant in this terminal
	@scripts/run-servers.sh shell

check: $(INSTALLED)  ## lint, format, types; generated data up to date, domain and data consistent
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m knowledge.generate --check
	$(BIN)/rasa data validate --fail-on-warning

format: $(INSTALLED)  ## fix what ruff can: import order, formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: setup check  ## every test: unit, end to end, held-out NLU, conversation stories
	$(BIN)/pytest
	$(BIN)/rasa test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/stories

test-fast: $(SPACY_PIPELINE)/meta.json $(WORD_EMBEDDINGS)/embeddings.safetensors data/faq/nlu.yml  ## the quick tests: no server, no trained model, no whole-set measurement
	$(BIN)/pytest -m "not servers and not evaluation and not training"

evaluate: setup  ## the trained assistant's figures on every labelled set: real patients' posts, held-out FAQ and red flags
	$(BIN)/python -m scripts.evaluate

profile: setup  ## where one message's time goes: each stage's mean, p50 and p95 (docs/benchmarks.md)
	$(BIN)/python -m scripts.profile_message

benchmark: setup  ## measure latency, throughput, load time and memory against a stock `rasa init` bot, and publishing under load
	$(BIN)/python -m scripts.benchmark
	$(BIN)/python -m scripts.benchmark_publish

benchmark-publish: setup  ## what patients notice while versions are published, and memory over 5 publishes
	$(BIN)/python -m scripts.benchmark_publish

benchmark-training: setup  ## how long staff wait for a candidate: a new phrasing, a changed answer, a new topic
	$(BIN)/python -m scripts.benchmark_training

tune-fallback: setup  ## choose the FallbackClassifier threshold on the validation set
	$(BIN)/python -m scripts.tune_fallback

tune-topics: setup  ## compare the topic weights and topic-confidence threshold on the development posts and our FAQ set
	$(BIN)/python -m scripts.tune_topics

red-flags-report: $(SPACY_PIPELINE)/meta.json  ## the red-flag lexicon's figures on the held-out set
	$(BIN)/python -m red_flags.evaluate tests/red_flags/held_out.yml

lock:  ## re-resolve requirements.in into requirements.lock
	scripts/lock-dependencies.sh $(PYTHON)

clean:  ## remove everything the set-up made (keeps conversations in var/)
	rm -rf $(VENV) build models results .pytest_cache
