.PHONY: test lint examples docs bench bench-lint bench-scale bench-audit crash-test-long

test:            ## install test extras and run the whole suite
	./scripts/test

lint:            ## ruff and mypy --strict
	.venv/bin/ruff check generator tests benchmarks
	.venv/bin/mypy

examples:        ## regenerate the golden trees under examples/ on purpose
	./scripts/regenerate-examples

docs:            ## regenerate docs/ from the guardrail and lint registries
	./scripts/regenerate-docs

bench:           ## print timings for a 10,000-account organization
	.venv/bin/python benchmarks/large_org.py

bench-lint:      ## guardgen lint against parliament on 1,000 policies
	.venv/bin/python benchmarks/lint_vs_parliament.py

bench-scale:     ## generate, check, verify and lint at 100, 1,000 and 10,000 accounts with IAM
	.venv/bin/python benchmarks/scale.py

bench-audit:     ## guardgen audit against the article's audit script on one moto_server
	.venv/bin/python benchmarks/audit.py

crash-test-long: ## SIGKILL generate at 150 points while it rewrites ~6,000 files (about 12 min)
	./scripts/crash-test-long
