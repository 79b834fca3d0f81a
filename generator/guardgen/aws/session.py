"""boto3 sessions and clients for guardgen's read-only AWS commands.

Every client comes from :meth:`AwsSession.client`, which makes exactly one client per service and
region, configures standard-mode retries (throttling is retried with backoff), and installs
:func:`AwsSession._before_call` on it. That hook sees each operation before botocore signs and
sends it, refuses anything that is not a read (:class:`ReadOnlyViolation`), and counts the
operations this session made, which tests and the benchmark report.

boto3 is imported inside functions only: ``guardgen --help`` and every command that does not talk
to AWS must not pay for importing it (or need it installed).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import AccessDenied, AwsApiError, CredentialsError, EndpointError, ReadOnlyViolation

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_sts import STSClient

T = TypeVar("T")

DEFAULT_REGION = "us-east-1"  # IAM, STS and Organizations are global; clients still need a region

# Prefixes of operations that only read. Generate* is here for iam:GenerateCredentialReport, which
# asks IAM to build a report from data it already has: it changes nothing in the account.
READ_PREFIXES = ("Get", "List", "Describe", "Generate")
# Operations outside those prefixes that a read-only audit still needs, by (service, operation):
# - sts:GetCallerIdentity (already a Get*, listed for clarity): who we are, and the account id.
# - sts:AssumeRole: `--org` reads each member account through a role in it. It changes nothing in
#   any account (it only returns temporary credentials), and the calls made with those
#   credentials go through clients that carry this same hook.
READ_EXCEPTIONS = frozenset({("sts", "GetCallerIdentity"), ("sts", "AssumeRole")})

# Error codes that mean the credentials themselves are bad, whatever the operation.
_CREDENTIAL_CODES = frozenset({
    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException",
    "SignatureDoesNotMatch", "InvalidAccessKeyId", "AuthFailure", "InvalidSignatureException",
})
# Error codes that mean "you may not": a step that gets one is recorded as unavailable.
ACCESS_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "UnauthorizedException",
})


def is_read_only(service: str, operation: str) -> bool:
    """Tell whether guardgen may send ``operation`` of ``service``.

    Args:
        service: botocore's service name (``iam``, ``sts``, ``cloudtrail``...).
        operation: The API operation name as AWS spells it (``ListUsers``).

    Returns:
        True for Get*/List*/Describe*/Generate* operations and the listed exceptions.
    """
    return operation.startswith(READ_PREFIXES) or (service, operation) in READ_EXCEPTIONS


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials, as sts:AssumeRole returns them (``--org`` fan-out)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print secrets in logs or test failures
        return f"Credentials(access_key_id={self.access_key_id!r}, ...)"


@dataclass(frozen=True)
class SessionOptions:
    """Where and as whom to talk to AWS; ``None`` means "as the AWS environment says".

    boto3 itself reads ``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``... and ``AWS_ENDPOINT_URL`` (and the
    per-service ``AWS_ENDPOINT_URL_<SERVICE>``); the region comes from ``region``, else
    ``AWS_REGION``, else ``AWS_DEFAULT_REGION`` or the profile's region, else us-east-1.
    """

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    credentials: Credentials | None = None


def _translate(service: str, operation: str, exc: Exception) -> Exception | None:
    """The guardgen error for a botocore exception, or None when it is not one of botocore's."""
    from botocore import exceptions as bx
    from botocore.parsers import ResponseParserError

    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.ProfileNotFound,
                        bx.CredentialRetrievalError, bx.TokenRetrievalError, bx.SSOTokenLoadError,
                        bx.UnauthorizedSSOTokenError, bx.NoAuthTokenError)):
        return CredentialsError(f"no usable AWS credentials for {service}:{operation}: {exc}. Set "
                                "AWS_PROFILE or pass --profile, or export AWS_ACCESS_KEY_ID and "
                                "AWS_SECRET_ACCESS_KEY")
    if isinstance(exc, (bx.EndpointConnectionError, bx.ConnectionError, bx.ReadTimeoutError,
                        bx.ConnectionClosedError)):
        return EndpointError(f"cannot reach AWS for {service}:{operation}: {exc}. Check the network, "
                             "--region, and --endpoint-url / AWS_ENDPOINT_URL if set")
    if isinstance(exc, ResponseParserError):  # an answer that is not AWS's (a proxy, a crash)
        return AwsApiError(service, operation, "UnparseableResponse", str(exc).split("\n", 1)[0])
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", ""))
        if code in _CREDENTIAL_CODES:
            return CredentialsError(f"AWS rejected the credentials on {service}:{operation}: {code}: "
                                    f"{message}")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        # A 403 whose body botocore could not parse (moto answers JSON-protocol services with an
        # XML AccessDenied; its code then reads "403") is a refusal all the same.
        if code in ACCESS_DENIED_CODES or (status == 403 and code == "403"):
            if code == "403" and "<Code>" in message:
                code = message.split("<Code>", 1)[1].split("</Code>", 1)[0]
                message = message.split("<Message>", 1)[-1].split("</Message>", 1)[0]
            return AccessDenied(service, operation, code, message)
        return AwsApiError(service, operation, code, message)
    return None


@contextmanager
def translated(service: str, operation: str) -> Iterator[None]:
    """Turn botocore's exceptions raised inside the block into guardgen's typed errors.

    Args:
        service: The service being called, for the message.
        operation: The operation being called, for the message.

    Raises:
        CredentialsError: No credentials, a missing profile, or credentials AWS rejects.
        EndpointError: The endpoint cannot be reached.
        AccessDenied: AWS refused the operation for lack of permission.
        AwsApiError: Any other error AWS answered with.
    """
    try:
        yield
    except Exception as exc:  # botocore's exceptions share no base class worth naming
        mapped = _translate(service, operation, exc)
        if mapped is None:
            raise
        raise mapped from exc


class AwsSession:
    """One boto3 session, its clients (one per service and region) and the count of calls made.

    A session is not thread-safe in boto3; clients are. Make one :class:`AwsSession` per thread
    that creates clients (``--org`` makes one per account it audits).
    """

    def __init__(self, options: SessionOptions | None = None) -> None:
        self.options = options or SessionOptions()
        self._boto: boto3.session.Session | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._operations: Counter[str] = Counter()

    # -- counting and the read-only guard ----------------------------------------------------------

    @property
    def calls(self) -> int:
        """How many operations this session's clients have been asked to send (retries not counted)."""
        with self._lock:
            return sum(self._operations.values())

    def operations(self) -> dict[str, int]:
        """Calls made so far by ``service:Operation``."""
        with self._lock:
            return dict(sorted(self._operations.items()))

    def _before_call(self, model: Any, **_: Any) -> None:
        """botocore ``before-call`` handler: refuse writes, count reads.

        botocore emits ``before-call`` after validating parameters and before signing and
        sending, so a refused operation never leaves the process.
        """
        service = model.service_model.service_name
        operation = model.name
        if not is_read_only(service, operation):
            raise ReadOnlyViolation(service, operation)
        with self._lock:
            self._operations[f"{service}:{operation}"] += 1

    # -- boto3 ------------------------------------------------------------------------------------

    def _session(self) -> boto3.session.Session:
        if self._boto is None:
            import boto3

            o = self.options
            with translated("sts", "session"):
                if o.credentials is not None:
                    self._boto = boto3.session.Session(
                        aws_access_key_id=o.credentials.access_key_id,
                        aws_secret_access_key=o.credentials.secret_access_key,
                        aws_session_token=o.credentials.session_token)
                else:
                    self._boto = boto3.session.Session(profile_name=o.profile)
        return self._boto

    @property
    def region(self) -> str:
        """The region clients are made for unless a caller names another."""
        return (self.options.region or os.environ.get("AWS_REGION") or self._session().region_name
                or DEFAULT_REGION)

    def client(self, service: str, region: str | None = None) -> Any:
        """The client for ``service`` in ``region`` (the session's region by default), made once.

        Args:
            service: botocore's service name.
            region: A region name; None for :attr:`region`.

        Returns:
            A boto3 client with standard retries and the read-only hook installed.
        """
        from botocore.config import Config

        region = region or self.region
        with self._lock:
            found = self._clients.get((service, region))
            if found is not None:
                return found
            session = self._session()
            kwargs: dict[str, Any] = {"region_name": region,
                                      "config": Config(retries={"mode": "standard"})}
            if self.options.endpoint_url:
                kwargs["endpoint_url"] = self.options.endpoint_url
            with translated(service, "client"):
                made = session.client(service, **kwargs)  # type: ignore[call-overload]
            made.meta.events.register("before-call", self._before_call)
            self._clients[(service, region)] = made
            return made

    def iam(self) -> IAMClient:
        """The IAM client."""
        client: IAMClient = self.client("iam")
        return client

    def sts(self) -> STSClient:
        """The STS client."""
        client: STSClient = self.client("sts")
        return client

    def organizations(self) -> OrganizationsClient:
        """The Organizations client."""
        client: OrganizationsClient = self.client("organizations")
        return client

    def cloudtrail(self, region: str | None = None) -> CloudTrailClient:
        """The CloudTrail client of ``region``."""
        client: CloudTrailClient = self.client("cloudtrail", region)
        return client

    def logs(self, region: str | None = None) -> CloudWatchLogsClient:
        """The CloudWatch Logs client of ``region``."""
        client: CloudWatchLogsClient = self.client("logs", region)
        return client

    def cloudwatch(self, region: str | None = None) -> CloudWatchClient:
        """The CloudWatch client of ``region``."""
        client: CloudWatchClient = self.client("cloudwatch", region)
        return client


def call(service: str, operation: str, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Call one client method with guardgen's error translation.

    Args:
        service: The service, for error messages.
        operation: The operation, for error messages.
        fn: The bound client method (``session.iam().get_account_summary``).
        **kwargs: The operation's parameters.

    Returns:
        What ``fn`` returns.
    """
    with translated(service, operation):
        return fn(**kwargs)


def paginate(service: str, operation: str, client: Any, method: str,
             **kwargs: Any) -> Iterator[Mapping[str, Any]]:
    """Yield every page of a paginated operation, with guardgen's error translation.

    Args:
        service: The service, for error messages.
        operation: The operation, for error messages.
        client: The boto3 client.
        method: The snake_case method name (``get_account_authorization_details``).
        **kwargs: The operation's parameters (``PaginationConfig`` included).
    """
    with translated(service, operation):
        yield from client.get_paginator(method).paginate(**kwargs)
