"""The EC2 declarative policy (``DECLARATIVE_POLICY_EC2``): account-wide EC2 settings that the
organization sets and accounts cannot change, whatever API they call.

It is not IAM policy grammar: one ``ec2_attributes`` object whose attributes are set with the
management-policy inheritance operator ``@@assign``. The shape is AWS's, attribute for
attribute: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_declarative_syntax.html

It complements ``require-imdsv2``: the SCP refuses launches that ask for IMDSv1 or too many hops,
and this makes IMDSv2 with that hop limit the default, so launches that ask for nothing get it.
"""

from __future__ import annotations

from typing import Any

from .guardrails import Guardrail, Parameter, Params

SYNTAX_DOCS = ("https://docs.aws.amazon.com/organizations/latest/userguide/"
               "orgs_manage_policies_declarative_syntax.html")
# The values AWS documents for each optional setting.
SNAPSHOT_STATES = ("block_all_sharing", "block_new_sharing")
SERIAL_CONSOLE = ("disabled", "enabled")


def _assign(value: str) -> dict[str, str]:
    return {"@@assign": value}


def document(p: Params) -> dict[str, Any]:
    """The declarative policy for the organization's parameters."""
    attributes: dict[str, Any] = {
        "instance_metadata_defaults": {
            "http_tokens": _assign("required"),
            # AWS's syntax page writes the hop limit as a string ("4"); -1 would mean no preference.
            "http_put_response_hop_limit": _assign(str(p.imds_max_hop_limit)),
            "http_endpoint": _assign("no_preference"),
            "instance_metadata_tags": _assign("no_preference"),
        },
    }
    ec2 = p.ec2
    if ec2.image_block_public_access:
        attributes["image_block_public_access"] = {"state": _assign("block_new_sharing")}
    if ec2.snapshot_block_public_access:
        attributes["snapshot_block_public_access"] = {
            "state": _assign(ec2.snapshot_block_public_access)}
    if ec2.serial_console_access:
        attributes["serial_console_access"] = {"status": _assign(ec2.serial_console_access)}
    if ec2.exception_message:
        attributes["exception_message"] = _assign(ec2.exception_message)
    return {"ec2_attributes": attributes}


REGISTRY: tuple[Guardrail, ...] = (
    Guardrail(
        id="ec2-declarative-baseline",
        title="EC2 defaults are set by the organization",
        description="An EC2 declarative policy: new instances default to IMDSv2 (tokens "
        "required) with the hop limit of organization.imds_max_hop_limit, the setting require-"
        "imdsv2 enforces; optionally, AMIs and EBS snapshots cannot be shared publicly and the "
        "serial console is turned off. Accounts cannot change these settings: the EC2 APIs that "
        "would change them refuse, with the exception message when one is set. It sets "
        "defaults; it does not stop a launch that asks for IMDSv1, which is what require-imdsv2 "
        "does.",
        mistake="missing-scps",
        source=SYNTAX_DOCS,
        build=lambda p: [],
        parameters=(
            Parameter("imds_max_hop_limit", "Default PUT response hop limit (default 2), the "
                      "same cap require-imdsv2 enforces.", False),
            Parameter("ec2_declarative.image_block_public_access", "true: block new public "
                      "sharing of AMIs.", False),
            Parameter("ec2_declarative.snapshot_block_public_access", "block_all_sharing or "
                      "block_new_sharing for EBS snapshots.", False),
            Parameter("ec2_declarative.serial_console_access", "disabled (or enabled) for the "
                      "EC2 serial console.", False),
            Parameter("ec2_declarative.exception_message", "Message shown when a setting "
                      "stops a request.", False),
        ),
        policy_type="declarative-ec2",
        document=document,
    ),
)
