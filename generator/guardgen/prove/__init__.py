"""Prove: what a plan's guardrails really do, offline. :mod:`.verify` evaluates scenarios against
each account's chain of SCPs, boundary and identity policies; :mod:`.lint` sets up linting of the
plan's documents. Imports plan/, config/, catalog/ and policy/.
"""
