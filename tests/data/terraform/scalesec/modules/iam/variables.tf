variable "target_id" {
  description = "The root, OU or account the policies are attached to"
  type        = string
}

variable "deny_services" {
  description = "Statements denying everything but the listed actions, one per list"
  type        = list(list(string))
  default     = [["s3:*", "dynamodb:*", "lambda:*", "logs:*", "sts:*", "iam:*", "kms:*"]]
}
