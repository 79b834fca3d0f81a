resource "aws_iam_role" "this" {
  name                 = var.name
  description          = var.description
  assume_role_policy   = var.trust_policy
  permissions_boundary = var.permissions_boundary
  max_session_duration = var.max_session_duration
  tags                 = var.tags
}

resource "aws_iam_policy" "this" {
  count = var.policy == null ? 0 : 1

  name        = "${var.name}-policy"
  description = "Permissions of role ${var.name}"
  policy      = var.policy
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "own" {
  count = var.policy == null ? 0 : 1

  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.this[0].arn
}

resource "aws_iam_role_policy_attachment" "managed" {
  for_each = toset(var.managed_policy_arns)

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

resource "aws_iam_instance_profile" "this" {
  count = var.create_instance_profile ? 1 : 0

  name = var.name
  role = aws_iam_role.this.name
  tags = var.tags
}
