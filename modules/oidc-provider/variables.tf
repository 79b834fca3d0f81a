variable "url" {
  description = "Issuer URL of the identity provider (https://...)."
  type        = string

  validation {
    condition     = startswith(var.url, "https://")
    error_message = "The issuer URL must use https."
  }
}

variable "client_ids" {
  description = "Audiences (aud claims) the provider accepts."
  type        = list(string)
}

variable "tags" {
  description = "Tags for the provider."
  type        = map(string)
  default     = {}
}
