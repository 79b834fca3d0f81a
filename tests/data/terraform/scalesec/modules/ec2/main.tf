#-----scalesec/modules/ec2/main.tf----#

## Require MFA to stop or terminate instances

data "aws_iam_policy_document" "require_mfa_ec2_actions" {
  statement {
    sid = "RequireMFAEC2"

    actions = [
      "ec2:StopInstances",
      "ec2:TerminateInstances",
    ]

    resources = [
      "*",
    ]

    effect = "Deny"

    condition {
      test     = "BoolIfExists"
      variable = "aws:MultiFactorAuthPresent"

      values = [
        "false",
      ]
    }
  }
}

resource "aws_organizations_policy" "require_mfa_ec2_actions" {
  name        = "Require MFA EC2 Actions"
  description = "Require MFA to stop or terminate EC2 instances"

  content = data.aws_iam_policy_document.require_mfa_ec2_actions.json
}

resource "aws_organizations_policy_attachment" "require_mfa_ec2_actions_attachment" {
  policy_id = aws_organizations_policy.require_mfa_ec2_actions.id
  target_id = var.target_id
}

## Only AMIs of the AMI creator account may be launched

data "aws_iam_policy_document" "restrict_ec2_ami_document" {
  statement {
    sid = "RestrictEc2Ami"

    actions = [
      "ec2:RunInstances"
    ]

    resources = [
      "arn:aws:ec2:*::image/ami-*"
    ]

    effect = "Deny"

    condition {
      test     = "StringNotEquals"
      variable = "ec2:Owner"

      values = [
        var.ami_creator_account
      ]
    }
  }
}

resource "aws_organizations_policy" "restrict_ec2_ami_policy" {
  name        = "Restrict EC2 AMIs"
  description = "Restricts the AMIs that can be launched to the AMI creator account."

  content = data.aws_iam_policy_document.restrict_ec2_ami_document.json
}

resource "aws_organizations_policy_attachment" "restrict_ec2_ami_attachment" {
  policy_id = aws_organizations_policy.restrict_ec2_ami_policy.id
  target_id = var.target_id
}
