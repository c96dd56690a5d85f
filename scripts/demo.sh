#!/usr/bin/env bash
# The embedded default: Airflow (SQLite, LocalExecutor: api-server first, then scheduler, dag-processor
# and triggerer), the platform simulator and the demo department systems, each in its own process
# group so `make stop` leaves nothing behind. Everything listens on 127.0.0.1 unless
# CREDITSYNC_BIND_HOST says otherwise; the CREDITSYNC_*_PORT variables let a second demo run beside.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VAR=$ROOT/var
RUN=$VAR/run
mkdir -p "$RUN" "$VAR/log"

PLATFORM_PORT=${CREDITSYNC_PLATFORM_PORT:-8700}
SOURCE_PORT=${CREDITSYNC_SOURCE_PORT:-8701}
ECOLOGY_PORT=${CREDITSYNC_ECOLOGY_PORT:-8702}
AIRFLOW_PORT=${CREDITSYNC_AIRFLOW_PORT:-8080}
BIND=${CREDITSYNC_BIND_HOST:-127.0.0.1}
LOCAL=${BIND/0.0.0.0/127.0.0.1}  # where this machine's own processes reach the servers
WORKER_LOG_PORT=${CREDITSYNC_WORKER_LOG_PORT:-$((AIRFLOW_PORT + 713))}
TRIGGERER_LOG_PORT=${CREDITSYNC_TRIGGERER_LOG_PORT:-$((AIRFLOW_PORT + 714))}

write_env() {
  # Demo credentials only: real deployments put them in Airflow Connections / a secrets backend.
  cat > "$VAR/demo.env" <<ENV
export PATH="$ROOT/.venv/bin:\$PATH"
export CREDITSYNC_HOME="$ROOT"
export CREDITSYNC_DB_URL="sqlite:///$VAR/creditsync.db"
export CREDITSYNC_PLATFORM_APP_KEY="demo-app-key"
export CREDITSYNC_SOURCE_TOKEN="demo-source-token"
export AIRFLOW_HOME="$VAR/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
# Schedules in Beijing time (a daily DAG at 00:00 runs at local midnight); Airflow's UI shows times in the
# browser's own time zone, the console and the CLI in CREDITSYNC_DISPLAY_TZ (Asia/Shanghai by default).
export AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Shanghai
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin,operator:op,auditor:viewer"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$VAR/airflow/passwords.json"
export AIRFLOW__API__HOST=$BIND
export AIRFLOW__API__PORT=$AIRFLOW_PORT
# Task runners report to this api-server, not to the default localhost:8080 (maybe another Airflow).
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://$LOCAL:$AIRFLOW_PORT/execution/"
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$WORKER_LOG_PORT
export AIRFLOW__LOGGING__TRIGGERER_LOG_SERVER_PORT=$TRIGGERER_LOG_PORT
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=15
export AIRFLOW_CONN_CREDITSYNC_PLATFORM="http://:demo-app-key@$LOCAL:$PLATFORM_PORT"
export AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE="http://:demo-source-token@$LOCAL:$SOURCE_PORT"
export AIRFLOW_CONN_ECOLOGY_ENVIRONMENT_SOURCE="http://:demo-source-token@$LOCAL:$ECOLOGY_PORT"
export AIRFLOW_CONN_EMERGENCY_MANAGEMENT_SOURCE='{"conn_type": "sqlite", "host": "$ROOT/.sim/emergency_management/emergency_management.db"}'
ENV
}

log_start() {  # name: a dated header, so var/log/NAME.log keeps every start's output one after another
  printf '\n===== %s: start (%s)\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$1" >> "$VAR/log/$1.log"
}

# -- housing_construction: a department database on MariaDB (skipped when no MariaDB answers) --------
MARIADB_DEMO_SERVER=${CREDITSYNC_DEMO_MARIADB:-mysql+pymysql://root@127.0.0.1:3306}

housing_construction_demo() {  # after write_env: seeds the database, or leaves the department out
  if "$ROOT/.venv/bin/python" - "$MARIADB_DEMO_SERVER" <<'PY' > "$VAR/log/housing_construction-seed.log" 2>&1
import sys
from creditsync.simulators.departments.housing_construction import create_database
source = create_database(sys.argv[1], "creditsync_demo_zjj", seed=7)
source.grant_reader("demo-zjj-reader")  # the gateway reads with a SELECT-only account
print(source.connection_json(login="creditsync_reader", password="demo-zjj-reader"))
PY
  then
    echo "== housing_construction: MariaDB database creditsync_demo_zjj seeded (read-only account creditsync_reader)"
    echo "export AIRFLOW_CONN_HOUSING_CONSTRUCTION_SOURCE='$(tail -n 1 "$VAR/log/housing_construction-seed.log")'" >> "$VAR/demo.env"
  else
    echo "== housing_construction: SKIPPED, no MariaDB at $MARIADB_DEMO_SERVER (see var/log/housing_construction-seed.log);"
    echo "   start MariaDB (or set CREDITSYNC_DEMO_MARIADB) and run make demo again to include it"
    mkdir -p "$VAR/adapters-demo"
    rm -f "$VAR/adapters-demo/"*.yaml
    for file in "$ROOT"/adapters/*.yaml; do
      [ "$(basename "$file")" = housing_construction.yaml ] || ln -s "$file" "$VAR/adapters-demo/"
    done
    echo "export CREDITSYNC_ADAPTERS_DIR=\"$VAR/adapters-demo\"" >> "$VAR/demo.env"
  fi
}
# -- end housing_construction -------------------------------------------------------------------------

# -- the sink: CREDITSYNC_SINK=exchange_db delivers through an exchange database (前置库) on MariaDB ----
SINK=${CREDITSYNC_SINK:-api}
EXCHANGE_PORT=${CREDITSYNC_EXCHANGE_PORT:-8703}
EXCHANGE_DB_URL="$MARIADB_DEMO_SERVER/creditsync_demo_exchange_$AIRFLOW_PORT?charset=utf8mb4"
EXCHANGE_CATEGORIES=license,penalty,enforcement,inspection

sink_demo_env() {  # after write_env: the sink's settings (the exchange database created if missing)
  echo "export CREDITSYNC_SINK=$SINK" >> "$VAR/demo.env"
  [ "$SINK" = exchange_db ] || return 0
  "$ROOT/.venv/bin/python" - "$MARIADB_DEMO_SERVER" "creditsync_demo_exchange_$AIRFLOW_PORT" <<'PY'
import sys
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.connect() as conn:
    conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{sys.argv[2]}` CHARACTER SET utf8mb4"))
PY
  echo "== exchange_db: the exchange database creditsync_demo_exchange_$AIRFLOW_PORT on MariaDB"
  cat >> "$VAR/demo.env" <<ENV
export CREDITSYNC_EXCHANGE_DB_URL="$EXCHANGE_DB_URL"
export CREDITSYNC_SINK_CONFIG="$ROOT/deploy/sinks.demo.yaml"
ENV
}

start_exchange_sim() {  # the platform's pick-up job on the exchange tables, beside the API simulator
  [ "$SINK" = exchange_db ] || return 0
  start_bg exchange-sim creditsync exchange-sim --db-url "$EXCHANGE_DB_URL" --host "$BIND" \
    --port "$EXCHANGE_PORT" --store "$VAR/exchange-sim.db" --categories "$EXCHANGE_CATEGORIES" --interval-s 1
  wait_http "http://$LOCAL:$EXCHANGE_PORT/_sim/stats" 60
}

exchange_summary() {
  [ "$SINK" = exchange_db ] || return 0
  echo "  exchange sim      http://$LOCAL:$EXCHANGE_PORT/_sim/stats  $(fetch "http://$LOCAL:$EXCHANGE_PORT/_sim/stats" 2>/dev/null)"
}
# -- end sink ------------------------------------------------------------------------------------------

start_bg() {  # name, command...: a new session, so stopping the group stops every child
  local name=$1; shift
  if is_running "$name"; then echo "  $name already running"; return; fi
  log_start "$name"
  setsid nohup "$@" >> "$VAR/log/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN/$name.pid"
}

demo_passwords() {  # the demo's users; an older file from before a user existed gets it added
  "$ROOT/.venv/bin/python" - "$AIRFLOW_HOME/passwords.json" <<'PY'
import json, pathlib, sys
path = pathlib.Path(sys.argv[1])
known = json.loads(path.read_text()) if path.exists() else {}
path.write_text(json.dumps({"admin": "admin", "operator": "operator", "auditor": "auditor"} | known))
PY
}

fetch() {  # no curl on a bare machine: the venv's Python fetches
  "$ROOT/.venv/bin/python" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"
}

is_running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

wait_http() {  # url, seconds
  for _ in $(seq 1 "$2"); do
    fetch "$1" > /dev/null 2>&1 && return 0
    sleep 1
  done
  echo "timed out waiting for $1" >&2; return 1
}

start() {
  write_env
  housing_construction_demo
  sink_demo_env
  # shellcheck disable=SC1091
  source "$VAR/demo.env"
  mkdir -p "$AIRFLOW_HOME"
  demo_passwords
  echo "== Airflow metadata database"; log_start airflow-migrate
  airflow db migrate >> "$VAR/log/airflow-migrate.log" 2>&1
  # the gateway's init step: its store, and one Airflow pool per department (the DAGs' tasks use them)
  echo "== gateway store and pools"; creditsync deploy-init
  echo "== simulators"
  start_bg platform-sim creditsync platform-sim --host "$BIND" --port "$PLATFORM_PORT" --store "$VAR/platform-sim.db"
  start_bg source-market_supervision creditsync source-sim market_supervision --host "$BIND" --port "$SOURCE_PORT"
  start_bg source-ecology_environment creditsync source-sim ecology_environment --host "$BIND" --port "$ECOLOGY_PORT"
  start_bg source-emergency_management creditsync source-sim emergency_management --workdir "$ROOT/.sim"
  start_bg source-health creditsync source-sim health --workdir "$ROOT/.sim"
  wait_http "http://$LOCAL:$PLATFORM_PORT/_sim/stats" 30
  start_exchange_sim
  for _ in $(seq 1 30); do [ -f "$ROOT/.sim/emergency_management/emergency_management.db" ] && break; sleep 1; done
  echo "== Airflow api-server"
  start_bg airflow-api-server airflow api-server --host "$BIND" --port "$AIRFLOW_PORT"
  wait_http "http://$LOCAL:$AIRFLOW_PORT/api/v2/monitor/health" 180
  # Only now may tasks run: their runners talk to the api-server from their first line. The log
  # servers stay off (they would listen on every interface); the api-server reads the local log files.
  echo "== Airflow scheduler, dag-processor, triggerer"
  start_bg airflow-scheduler airflow scheduler --skip-serve-logs
  start_bg airflow-dag-processor airflow dag-processor
  start_bg airflow-triggerer airflow triggerer --skip-serve-logs
  echo "== waiting for the DAGs to be parsed"
  for _ in $(seq 1 90); do
    airflow dags list -o plain 2>/dev/null | grep -q sync__market_supervision && break; sleep 2
  done
  # New DAGs start unpaused here, so the scheduler runs each one for its latest interval by itself.
  for dag in $(airflow dags list -o plain 2>/dev/null | awk '/^sync__/ {print $1}'); do
    wait_for_run "$dag"
  done
  summary
}

wait_for_run() {  # until no run of the DAG is queued or running
  echo "== waiting for $1"
  local states
  for _ in $(seq 1 120); do
    states=$(airflow dags list-runs "$1" -o plain 2>/dev/null | awk -v d="$1" '$1 == d {print $3}' | sort -u | tr '\n' ' ')
    if [ -n "$states" ] && ! echo "$states" | grep -qE 'queued|running'; then
      echo "  $1: $states"; return 0
    fi
    sleep 3
  done
  echo "  $1 is still running; watch it in the UI"
}

example_document() {  # a 文书号 the demo really published, for the summary's example
  "$ROOT/.venv/bin/python" - "$VAR/creditsync.db" <<'PY' 2>/dev/null || true
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute(
    "SELECT document_no FROM records WHERE department = 'market_supervision' AND category = 'penalty' "
    "AND state = 'published' ORDER BY document_no LIMIT 1").fetchone()
print(row[0] if row else "")
PY
}

summary() {
  local example
  example=$(example_document)
  cat <<TXT

CreditSync demo is running.
  Airflow UI        http://$LOCAL:$AIRFLOW_PORT   login admin / admin  (operator / operator; read-only: auditor / auditor)
  gateway console   http://$LOCAL:$AIRFLOW_PORT/plugin/creditsync-status  (Browse → 信用同步·概览 / ·隔离记录 / ·记录 / ·审计)
                    e.g. 记录 → ${example:-a 文书号}; JSON http://$LOCAL:$AIRFLOW_PORT/creditsync/api/status
  platform sim      http://$LOCAL:$PLATFORM_PORT/_sim/stats  $(fetch "http://$LOCAL:$PLATFORM_PORT/_sim/stats" 2>/dev/null)
$(exchange_summary)
  departments       market_supervision REST http://$LOCAL:$SOURCE_PORT, ecology_environment XML
                    http://$LOCAL:$ECOLOGY_PORT, emergency_management SQLite
                    .sim/emergency_management/, health file drops .sim/health/inbox/
  shell             source var/demo.env; creditsync quarantine list; creditsync audit trace ${example:-文书号}
  stop              make stop
TXT
}

stop() {
  for pidfile in "$RUN"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$pidfile"
    echo "stopped $(basename "$pidfile" .pid)"
  done
}

status() {
  for pidfile in "$RUN"/*.pid; do
    [ -e "$pidfile" ] || { echo "nothing running"; return; }
    name=$(basename "$pidfile" .pid)
    if is_running "$name"; then echo "$name: running"; else echo "$name: stopped"; fi
  done
}

clean() {  # after stop: the demo's MariaDB database and its reader account (make clean; var/ goes too)
  [ -x "$ROOT/.venv/bin/python" ] || return 0
  if "$ROOT/.venv/bin/python" -m creditsync.simulators.departments.housing_construction --drop \
       --server "$MARIADB_DEMO_SERVER" --database creditsync_demo_zjj > /dev/null 2>&1; then
    echo "dropped MariaDB database creditsync_demo_zjj and account creditsync_reader"
  else
    echo "MariaDB at $MARIADB_DEMO_SERVER did not answer: its demo database creditsync_demo_zjj (if any) is left"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  clean) stop; clean ;;
  *) echo "usage: $0 start|stop|status|clean" >&2; exit 2 ;;
esac
