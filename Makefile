# Svyaz. `make run` runs the whole system; `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
STAMP := $(VENV)/.installed
PROJECTS := libs/svyaz services/registry services/stipends services/notifications services/insights services/gateway
REQS := requirements.txt $(wildcard infra/stripe-sandbox/requirements.txt) $(addsuffix /pyproject.toml,$(PROJECTS))

.PHONY: run test venv keys services tools prepare test-unit test-contracts test-integration test-e2e test-browser \
        test-serial test-pooled test-chaos chaos bench cluster cluster-stop lint topology clean backup drill screens

run: venv keys services  ## run the whole system in the foreground (Ctrl-C stops it); CLUSTER=3: on `make cluster`'s nodes
	bash infra/dev/ensure-tools.sh run
	$(PY) infra/dev/stack.py $(if $(CLUSTER),--cluster)

TEST_SLOTS ?= 3
test: venv keys services tools lint  ## lint, then every test tier, against the real RabbitMQ and PostgreSQL
	$(PY) infra/dev/testrun.py --slots $(TEST_SLOTS)

test-serial: venv keys services tools  ## every test in one pytest process (slower; what testrun.py splits)
	$(PYTEST) tests

venv: $(STAMP)
$(STAMP): $(REQS)
	@command -v python3.11 >/dev/null || { echo "Python 3.11 is required (python3.11)"; exit 1; }
	test -x $(PY) || python3.11 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip<27'
	$(PY) -m pip install -q -r requirements.txt
	if [ -f infra/stripe-sandbox/requirements.txt ]; then \
	  $(PY) -m pip install -q -r infra/stripe-sandbox/requirements.txt; fi
	$(PY) -m pip install -q --no-deps $(addprefix -e ,$(PROJECTS))
	touch $(STAMP)

keys: venv  ## the development bus keys (var/keys): one Ed25519 pair per process
	$(PY) -m svyaz.keys ensure var/keys

services:  ## start PostgreSQL and RabbitMQ if they are installed but stopped
	bash infra/dev/ensure-services.sh

tools:  ## Debian tools the tests use: docker-compose (config check only), chromium
	bash infra/dev/ensure-tools.sh

prepare: venv keys services  ## create the databases and migrate them
	$(PY) infra/dev/stack.py --prepare

# one target per tier; the tier is the directory: tests/<name>/{unit,integration}
test-unit: venv keys tools
	$(PYTEST) $(wildcard tests/*/unit)
test-contracts: venv keys
	$(PYTEST) tests/contracts
test-integration: venv keys services
	$(PYTEST) $(wildcard tests/*/integration)
test-e2e: venv keys services
	$(PYTEST) tests/e2e
test-browser: venv keys services tools  ## the browser tests, in make test's two halves (each on a system of its own)
	$(PY) infra/dev/testrun.py --slots $(TEST_SLOTS) --only '^browser-'

test-pooled: venv keys services tools  ## payouts and reconciliation through PgBouncer in transaction pooling (also part of `make test`)
	$(PYTEST) tests/pooled

test-chaos: venv keys services  ## the short chaos runs (also part of `make test`)
	$(PYTEST) tests/chaos

BROKER_EVERY ?= 150
COMMUNICATORS ?= 2000
# CLUSTER=3: the long run on a RabbitMQ cluster of its own (infra/cluster), a node
# killed every NODE_EVERY s or so among the other faults, instead of restarts of the
# machine's broker
CLUSTER ?=
NODE_EVERY ?= 60
# the long run restarts the machine's RabbitMQ: nothing else should use it meanwhile
# each run keeps its processes' logs, mail and sandbox state (about 50 MB for 1,000
# people) in var/chaos/<run>-kept/: a replica's exit can be explained afterwards
chaos: venv keys services  ## the long chaos run, then its inbox-off variant; figures in var/chaos/
	@mkdir -p var/chaos; rm -rf var/chaos/run-kept var/chaos/no-dedup-kept
	set -o pipefail; $(PY) -m tests.chaos.run --communicators $(COMMUNICATORS) \
	  $(if $(CLUSTER),--cluster $(CLUSTER) --node-every $(NODE_EVERY),--broker-every $(BROKER_EVERY)) \
	  --keep var/chaos/run-kept 2>&1 | tee var/chaos/run.txt
	set -o pipefail; $(PY) -m tests.chaos.run --communicators 100 --no-dedup \
	  --keep var/chaos/no-dedup-kept 2>&1 | tee var/chaos/no-dedup.txt
	set -o pipefail; FAILOVER_LONG=1 $(PYTEST) -s tests/e2e/test_failover.py 2>&1 | tee var/chaos/failover.txt
	RESTORE_DRILL=1 $(PYTEST) -s tests/e2e/test_backup_drill.py
	$(PY) infra/dev/chaosreport.py var/chaos docs/chaos.md

BENCH ?= $(filter-out bench/_%,$(wildcard bench/*.py))
bench: venv keys services  ## every benchmark in bench/ (or BENCH="bench/x.py ..."), then docs/benchmarks.md
	@mkdir -p var/bench; rm -f var/bench/*.log
	@for script in $(BENCH); do name=$$(basename $$script .py); echo "== $$script"; \
	  $(PY) bench/_settle.py; $(PY) $$script 2>&1 | tee var/bench/$$name.log; done
	$(PY) infra/dev/benchreport.py var/bench docs/benchmarks.md

backup: venv keys  ## back up the `make run` system: var/backups/<time>, keys in var/backup-keys/<time> (docs/backups.md)
	$(PY) infra/backup/backup.py create

screens: venv keys services tools  ## the browser tests, refreshing the README's screenshots in docs/screens/
	SCREENS_DIR=$(CURDIR)/docs/screens $(PY) infra/dev/testrun.py --slots $(TEST_SLOTS) --only '^browser-'

drill: venv keys services  ## the restore drill: a backup restored into fresh databases (docs/backups.md)
	RESTORE_DRILL=1 $(PYTEST) -s tests/e2e/test_backup_drill.py

cluster: venv  ## a three-node RabbitMQ cluster on this machine (ports 5701-5703); `make cluster-stop`
	$(PY) infra/cluster/cluster.py start
cluster-stop: venv
	$(PY) infra/cluster/cluster.py clean

lint: venv
	$(VENV)/bin/ruff check libs services tests bench infra
	$(VENV)/bin/ruff format --check libs services tests bench infra
	$(VENV)/bin/mypy libs/svyaz/svyaz $(patsubst %/__init__.py,%,$(wildcard services/*/*/__init__.py))

topology: venv  ## regenerate infra/rabbitmq/definitions.json (and docker-compose's development.json) from the code
	$(PY) infra/rabbitmq/generate.py > infra/rabbitmq/definitions.json
	$(PY) infra/rabbitmq/generate.py --development > infra/rabbitmq/development.json
	$(PY) infra/k8s/generate.py

clean:
	rm -rf var .pytest_cache
