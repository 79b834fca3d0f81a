#-----scalesec/modules/iam/main.tf----#

## Protect the security team's roles

data "aws_iam_policy_document" "protect_iam_roles" {
  statement {
    sid    = "ProtectSecurityRoles"
    effect = "Deny"

    actions = [
      "iam:AttachRolePolicy",
      "iam:DeleteRole",
      "iam:DeleteRolePermissionsBoundary",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
    ]

    resources = ["arn:aws:iam::*:role/security-*"]

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = ["arn:aws:iam::*:role/security-admin"]
    }
  }

  dynamic "statement" {
    for_each = var.deny_services
    content {
      sid         = "OnlyListedServices${statement.key}"
      effect      = "Deny"
      not_actions = statement.value
      resources   = ["*"]
    }
  }
}

resource "aws_organizations_policy" "protect_iam_roles" {
  name        = "Protect IAM Roles"
  description = "Protect the security team's IAM roles from modification or deletion"
  content     = data.aws_iam_policy_document.protect_iam_roles.json
}

resource "aws_organizations_policy_attachment" "protect_iam_roles_attachment" {
  policy_id = aws_organizations_policy.protect_iam_roles.id
  target_id = var.target_id
}

## The password policy stays as the security team set it (a JSON template)

data "template_file" "deny_password_policy" {
  template = file("${path.module}/templates/deny_password_policy.json")
}

resource "aws_organizations_policy" "deny_password_policy" {
  name        = "Deny password policy changes"
  description = "Denies changes to the IAM account password policy."

  content = data.template_file.deny_password_policy.rendered
}

resource "aws_organizations_policy_attachment" "deny_password_policy_attachment" {
  policy_id = aws_organizations_policy.deny_password_policy.id
  target_id = var.target_id
}
