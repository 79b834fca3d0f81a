variable "name" {
  description = "Name of the boundary policy."
  type        = string
}

variable "path" {
  description = "IAM path of the boundary policy; the enforcing SCP names it."
  type        = string
  default     = "/guardgen/"
}

variable "description" {
  description = "Description of the boundary policy."
  type        = string
  default     = ""
}

variable "policy" {
  description = "The boundary policy document (JSON)."
  type        = string
}

variable "tags" {
  description = "Tags for the policy."
  type        = map(string)
  default     = {}
}
