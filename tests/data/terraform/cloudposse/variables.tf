variable "data_region" {
  type        = string
  description = "The only region S3 buckets may be created in"
  default     = "eu-west-1"
}

variable "workloads_ou_id" {
  type        = string
  description = "The OU the combined policy is attached to"
  default     = "ou-ab12-workloads1"
}
