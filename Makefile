.PHONY: test lint examples docs bench demo

test:            ## install test extras and run the whole suite
	./scripts/test

lint:            ## ruff and mypy --strict
	.venv/bin/ruff check generator tests benchmarks
	.venv/bin/mypy

examples:        ## regenerate the golden trees under examples/ on purpose
	./scripts/regenerate-examples

docs:            ## regenerate docs/guardrails.md from the registry
	.venv/bin/guardgen guardrails --markdown > docs/guardrails.md

bench:           ## print timings for a 10,000-account organization
	.venv/bin/python benchmarks/large_org.py
