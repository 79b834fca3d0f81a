variable "json_file" {
  description = "Path of the policy document, relative to the root module"
  type        = string
}

variable "ou_list" {
  description = "Targets to attach the policy to"
  type        = list(string)
}
