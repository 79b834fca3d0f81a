variable "target_id" {
  description = "The root, OU or account the policies are attached to"
  type        = string
}

variable "ami_creator_account" {
  description = "The account that builds every AMI the organization may launch"
  type        = string
}
