# Speculum: `make lab` for the local lab mirror, `make test` for everything.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export CONTAINERS_CONF := $(CURDIR)/lab/containers.conf
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help setup lab lab-down lab-status image test lint unit molecule check bench build clean

help:
	@echo "make lab        build what is needed, start the lab mirror, print its URL"
	@echo "make lab-down   remove the lab containers"
	@echo "make test       setup + lint + unit tests + molecule (what CI runs)"
	@echo "make lint       yamllint + ansible-lint"
	@echo "make unit       pytest tests/"
	@echo "make molecule   molecule test (default scenario)"
	@echo "make check      site.yml --check --diff against the running lab"
	@echo "make bench      benchmarks (bench/), results go to docs/benchmarks.md"
	@echo "make build      ansible-galaxy collection build"

setup:
	@scripts/setup.sh

image: setup
	@lab/image.sh

lab: setup
	@lab/lab.sh up

lab-down:
	@lab/lab.sh down

lab-status:
	@lab/lab.sh status

test: setup lint unit molecule

lint: setup
	yamllint --strict .
	ansible-lint --offline
	ruff check src tests plugins bench lab molecule

unit: setup
	pytest -q

molecule: image
	molecule test --all

check: setup
	ansible-playbook site.yml --check --diff

bench: image
	python bench/schedule.py
	python bench/site.py
	bench/deploy_scale.py
	python bench/logstats.py

build: setup
	ansible-galaxy collection build --force --output-path build/

clean:
	rm -rf build/ .pytest_cache
