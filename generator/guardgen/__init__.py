"""guardgen: one organization description in, the Terraform that locks an AWS Organization down out."""

__version__ = "0.1.0"
