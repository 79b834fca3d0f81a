"""Typed errors of the AWS edge, each with a message a user can act on.

They subclass :class:`guardgen.errors.GuardgenError`, so the CLI's single error-to-exit-code
mapping turns every one of them into exit code 2 and a message, never a traceback.
"""

from __future__ import annotations

from ..errors import GuardgenError


class AwsError(GuardgenError):
    """A problem talking to AWS."""


class ReadOnlyViolation(AwsError):
    """guardgen was about to send an operation that is not a read; it refused before sending it.

    Attributes:
        service: The botocore service name (``iam``, ``sts``...).
        operation: The API operation name (``CreateUser``).
    """

    def __init__(self, service: str, operation: str) -> None:
        self.service = service
        self.operation = operation
        super().__init__(
            f"refused to call {service}:{operation}: guardgen's AWS commands are read-only and may only "
            "call Get*, List*, Describe* and Generate* operations, sts:GetCallerIdentity and "
            "sts:AssumeRole (this is a bug in guardgen; please report it)")


class CredentialsError(AwsError):
    """No usable credentials: none found, a profile that does not exist, expired or invalid keys."""


class EndpointError(AwsError):
    """The AWS endpoint (or the one given with --endpoint-url / AWS_ENDPOINT_URL) cannot be reached."""


class AwsApiError(AwsError):
    """AWS answered an operation with an error that guardgen cannot work around.

    Attributes:
        service: The botocore service name.
        operation: The API operation name.
        code: AWS's error code (``ThrottlingException``, ``NoSuchEntity``...).
        detail: AWS's message.
    """

    def __init__(self, service: str, operation: str, code: str, message: str) -> None:
        self.service = service
        self.operation = operation
        self.code = code
        self.detail = message
        super().__init__(f"{service}:{operation} failed: {code}: {message}")


class AccessDenied(AwsApiError):
    """AWS refused an operation for lack of permission (fetch records the step as unavailable)."""
