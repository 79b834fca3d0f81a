// Policies as JSON files, one module call per policy and a folder of policies for the sandbox
// (the shapes of aws-samples' SCP examples), plus a baseline written inline.

data "aws_organizations_organization" "org" {}

resource "aws_organizations_policy" "root_baseline" {
  name        = "root-baseline"
  description = "Baseline for every member account"
  type        = "SERVICE_CONTROL_POLICY"

  content = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "DenyRootUser"
        Effect   = "Deny"
        Action   = "*"
        Resource = "*"
        Condition = {
          StringLike = {
            "aws:PrincipalArn" = ["arn:aws:iam::*:root"]
          }
        }
      },
      {
        Sid    = "ProtectSecurityServices"
        Effect = "Deny"
        Action = [
          "guardduty:DeleteDetector",
          "guardduty:DisassociateFromMasterAccount",
          "securityhub:DisableSecurityHub",
          "access-analyzer:DeleteAnalyzer",
        ]
        Resource = "*"
      },
      {
        Sid      = "DenyUsersOutsideTheirPath"
        Effect   = "Deny"
        Action   = ["iam:CreateAccessKey"]
        Resource = "arn:aws:iam::*:user/$${aws:username}"
        Condition = {
          Bool = { "aws:ViaAWSService" = false }
        }
      },
    ]
  })
}

resource "aws_organizations_policy_attachment" "root_baseline" {
  policy_id = aws_organizations_policy.root_baseline.id
  target_id = data.aws_organizations_organization.org.roots[0].id
}

module "scp_workloads" {
  source    = "./scp"
  json_file = "policies/workloads/protect_logging.json"
  ou_list   = var.workload_ous
}

resource "aws_organizations_policy" "sandbox" {
  for_each = fileset(path.root, "policies/sandbox/*.json")

  name    = trimsuffix(basename(each.value), ".json")
  content = file(each.value)
}

resource "aws_organizations_policy_attachment" "sandbox" {
  for_each = aws_organizations_policy.sandbox

  policy_id = each.value.id
  target_id = var.sandbox_account
}
