# policy-change — the commands the README gives.
#   make demo   build, then run the example runbook (see README)
#   make test   install what is missing, build, run every test
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

SWIFT      ?= swift
PYTHON     ?= python3
SUDO       := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null && echo sudo)
BIN_DEBUG   = .build/debug/policy-change
BIN_RELEASE = .build/release/policy-change

.PHONY: help deps system-deps python-deps build release test demo bench bench-analysis docs catalogue format lint clean

help:
	@echo "make demo    build and run the example runbook"
	@echo "make test    install what is missing, build and run every test"
	@echo "make bench   benchmarks (hyperfine): start-up, runbook load, plan, plan vs the aws CLI"
	@echo "make bench-analysis   the analysis of a 32 KB policy, beside parliament"
	@echo "make docs    regenerate docs/findings*.md (AWS, Azure, GCP) from the rules"
	@echo "make catalogue   regenerate the AWS KMS action catalogue (botocore model) and the GCP predefined-role catalogue (data/gcp)"
	@echo "make format  swift format the sources in place"

# System libraries the package links (pkg-config names yaml-0.1 and libcurl).
system-deps:
	@if ! pkg-config --exists libcurl yaml-0.1 2>/dev/null; then \
	  echo "installing libcurl4-openssl-dev libyaml-dev pkg-config"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcurl4-openssl-dev libyaml-dev pkg-config; \
	fi

# Python tools the tests and the demo drive: moto_server (AWS with request
# authentication), boto3/botocore (setup, signature checks in the fakes), the
# aws CLI (restoring a backup the documented way), PyYAML + jsonschema
# (schema conformance), cryptography (the GCP fake verifies RS256 JWTs).
python-deps:
	@$(PYTHON) -c "import yaml, jsonschema" 2>/dev/null || $(PYTHON) -m pip install -q pyyaml jsonschema
	@$(PYTHON) -c "import cryptography" 2>/dev/null || $(PYTHON) -m pip install -q cryptography
	@$(PYTHON) -c "import moto, boto3, botocore, flask, werkzeug" 2>/dev/null && command -v moto_server >/dev/null \
	  || $(PYTHON) -m pip install -q "moto[server]" boto3
	@command -v aws >/dev/null || $(PYTHON) -m pip install -q awscli
	@command -v pyenv >/dev/null && pyenv rehash || true

deps: system-deps python-deps

build: system-deps
	$(SWIFT) build

# The Swift runtime and Foundation linked statically: the binary starts about
# a third faster (no dynamic loading of libFoundation) and runs anywhere with libcurl and libyaml.
release: system-deps
	$(SWIFT) build -c release --product policy-change --static-swift-stdlib

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

demo: release python-deps
	@bash scripts/demo.sh $(BIN_RELEASE)

bench: release
	@command -v hyperfine >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq hyperfine)
	@bash scripts/bench.sh $(BIN_RELEASE)

# The analysis on a 32 KB, 100-principal policy (and parliament beside it when installed).
bench-analysis:
	@bash scripts/bench-analysis.sh

# docs/findings.md, findings-azure.md, findings-gcp.md from the rules' own descriptions and examples.
docs:
	POLICY_CHANGE_UPDATE_DOCS=1 $(SWIFT) test --filter FindingsReferenceTests

# The KMS action catalogue from the pinned botocore model, and the GCP
# predefined Cloud KMS roles from data/gcp/predefined-kms-roles.json.
catalogue:
	$(PYTHON) scripts/gen-kms-catalogue.py
	$(PYTHON) scripts/gen-gcp-roles.py

format:
	$(SWIFT) format --in-place --recursive Sources Tests

lint:
	$(SWIFT) format lint --recursive Sources Tests

clean:
	rm -rf .build
