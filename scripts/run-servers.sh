#!/usr/bin/env bash
# Starts the action server in the background and the Rasa server (or `rasa shell`) in the
# foreground, and beside them the staff console (not for `rasa shell`, nor with
# STAFF_CONSOLE=off). Ctrl-C, or the Rasa server ending for any reason, stops them all.
# Called by `make run` / `make shell` (and by the end-to-end tests), which set the environment;
# CREDENTIALS_FILE (default credentials.yml) says which channels to open; the model is the
# published version's (python -m staff publish), or else ASSISTANT_MODEL, the one `make` trained.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
MODEL=$("$BIN/python" -m staff live-model --default "${ASSISTANT_MODEL:?the trained model file: make run sets it}")
mkdir -p "$(dirname "${TRACKER_SQLITE_FILE:-var/conversations.db}")"
# The secret the Rasa server shows the action server on every call (endpoints.yml): the one
# given, or a new random one for this start, which only these two processes know.
export ACTION_SERVER_SECRET="${ACTION_SERVER_SECRET:-$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))')}"

"$BIN/python" -m actions.server &
actions_pid=$!
trap 'kill "$actions_pid" 2>/dev/null || true; wait "$actions_pid" 2>/dev/null || true' EXIT
# A closed terminal or a plain kill also ends the action server (through the EXIT trap).
trap 'exit 129' HUP
trap 'exit 143' TERM

if [ "${1:-}" = shell ]; then
  "$BIN/rasa" shell --model "$MODEL" --endpoints endpoints.yml
  exit
fi

staff_pid=
if [ "${STAFF_CONSOLE:-on}" != off ]; then
  "$BIN/python" -m staff console &
  staff_pid=$!
  trap 'kill "$actions_pid" "$staff_pid" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
fi

api="off; RASA_API_TOKEN or RASA_JWT_SECRET turns it on"
[ -n "${RASA_API_TOKEN:-}${RASA_JWT_SECRET:-}" ] && api="on, token or JWT required"
cat <<INFO
Starting the assistant (the model takes a little while to load)...
  REST:      POST http://localhost:$RASA_PORT/webhooks/rest/webhook  {"sender": "me", "message": "hi"}
  socket.io: http://localhost:$RASA_PORT/socket.io  (web chat widget)
Website widget demo: http://localhost:$RASA_PORT/widget/demo
  health:    GET  http://localhost:$RASA_PORT/health  (HTTP API: $api)
  actions:   http://${ACTION_HOST:-127.0.0.1}:$ACTION_PORT/health
${staff_pid:+Staff console: http://localhost:${STAFF_PORT:-5002}  (accounts: python -m staff user add NAME --role reviewer)}
  Rasa processes: ${RASA_PROCESSES:-1} (about 1.5 GB of memory each)
Press Ctrl-C to stop the servers.
INFO
# RASA_PROCESSES Rasa processes (Sanic workers) share the port, each with its own copy of the
# model; the lock store in endpoints.yml keeps each conversation's turns one at a time, in order.
# In the background with `wait`, so a TERM or HUP to this script is handled at once.
# The HTTP API is off unless RASA_API_TOKEN or RASA_JWT_SECRET is set (rasa_plugins/server.py).
# One OpenBLAS thread (the Makefile's default) also when this script is started without make.
OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" SANIC_WORKERS="${RASA_PROCESSES:-1}" "$BIN/python" -m rasa_plugins.server --model "$MODEL" --port "$RASA_PORT" \
  --credentials "${CREDENTIALS_FILE:-credentials.yml}" --endpoints endpoints.yml &
rasa_pid=$!
trap 'kill "$rasa_pid" "$actions_pid" $staff_pid 2>/dev/null || true; wait 2>/dev/null || true' EXIT
wait "$rasa_pid"
