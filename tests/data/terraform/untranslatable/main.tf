# Constructs guardgen import cannot translate; each must be reported with its line.

resource "aws_organizations_policy" "allow_list" {
  name = "allow-list"
  content = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:*", "ec2:*"], Resource = "*" }]
  })
}

resource "aws_organizations_policy" "tags" {
  name    = "tags"
  type    = "TAG_POLICY"
  content = jsonencode({ tags = { team = { tag_key = { "@@assign" = "Team" } } } })
}

resource "aws_organizations_policy" "bucket" {
  name = "deny-bucket-deletion"
  content = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Deny"
      Action   = "s3:DeleteBucket"
      Resource = aws_s3_bucket.logs.arn
    }]
  })
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-logs"
}

resource "aws_organizations_policy" "regions" {
  name    = "regions"
  content = templatefile("${path.module}/regions.json.tpl", { regions = var.regions })
}

resource "aws_organizations_policy_attachment" "regions" {
  policy_id = aws_organizations_policy.regions.id
  target_id = var.target
}

module "remote" {
  source = "git::https://example.com/acme/scp-modules.git//baseline?ref=v1.2.0"
}

variable "target" {
  type = string
}

variable "regions" {
  type    = list(string)
  default = ["eu-west-1"]
}
