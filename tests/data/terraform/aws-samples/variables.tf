variable "workload_ous" {
  description = "OUs that get the workload policies"
  type        = list(string)
  default     = ["ou-ab12-workloads1", "ou-ab12-security1"]
}

variable "sandbox_account" {
  description = "The sandbox account"
  type        = string
  default     = "555555555555"
}
