variable "name" {
  description = "Name of the service control policy."
  type        = string
}

variable "description" {
  description = "Description of the policy: which guardrails it carries and where."
  type        = string
  default     = ""
}

variable "content" {
  description = "The policy document, exactly as deployed (minified JSON)."
  type        = string

  validation {
    condition     = length(var.content) <= 10240
    error_message = "An SCP document is limited to 10,240 characters."
  }
}

variable "target_ids" {
  description = "Root, OU or account ids to attach the policy to, keyed by a stable name."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags for the policy."
  type        = map(string)
  default     = {}
}
