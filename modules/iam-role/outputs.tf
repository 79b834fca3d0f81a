output "arn" {
  description = "ARN of the role."
  value       = aws_iam_role.this.arn
}

output "name" {
  description = "Name of the role."
  value       = aws_iam_role.this.name
}

output "instance_profile_arn" {
  description = "ARN of the instance profile, or null."
  value       = try(aws_iam_instance_profile.this[0].arn, null)
}
