variable "name" {
  description = "Role name (at most 64 characters)."
  type        = string
}

variable "description" {
  description = "Role description."
  type        = string
  default     = ""
}

variable "trust_policy" {
  description = "Trust (assume role) policy document (JSON)."
  type        = string
}

variable "policy" {
  description = "The role's own permissions policy (JSON), created as a managed policy; null for none."
  type        = string
  default     = null
}

variable "managed_policy_arns" {
  description = "Managed policies to attach."
  type        = list(string)
  default     = []
}

variable "permissions_boundary" {
  description = "ARN of the permissions boundary; null for none."
  type        = string
  default     = null
}

variable "max_session_duration" {
  description = "Maximum session duration in seconds."
  type        = number
  default     = 3600
}

variable "create_instance_profile" {
  description = "Create an EC2 instance profile for the role."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
