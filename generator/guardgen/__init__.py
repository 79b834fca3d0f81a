"""guardgen: one organization description in, the Terraform that locks an AWS Organization down out.

Subpackages follow the pipeline, and imports point one way, from the top of this list down:
cli → pipeline → (aws, prove, output, render) → plan → config → catalog → policy → shared helpers
(errors, hcl, resources). README.md's "Where things are" says what lives in each.
"""

__version__ = "0.1.0"
