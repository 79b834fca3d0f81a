variable "trail_name" {
  description = "Name of the organization trail."
  type        = string
}

variable "bucket_name" {
  description = "Name of the S3 bucket that receives the log files."
  type        = string
}

variable "bucket_policy" {
  description = "Bucket policy (JSON) that admits only CloudTrail and TLS."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the log files, the bucket and the log group."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch Logs group the trail delivers to."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the log group, in days."
  type        = number
}

variable "cloudtrail_role_name" {
  description = "Name of the role CloudTrail uses to write to CloudWatch Logs."
  type        = string
}

variable "cloudtrail_role_trust_policy" {
  description = "Trust policy (JSON) of the delivery role."
  type        = string
}

variable "cloudtrail_role_policy" {
  description = "Permissions (JSON) of the delivery role."
  type        = string
}

variable "archive_after_days" {
  description = "Days before log files move to Glacier."
  type        = number
  default     = 90
}

variable "expire_after_days" {
  description = "Days before log files are deleted."
  type        = number
  default     = 2557
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
