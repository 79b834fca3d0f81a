output "arn" {
  description = "ARN of the boundary policy, for roles' permissions_boundary."
  value       = aws_iam_policy.this.arn
}

output "name" {
  description = "Name of the boundary policy."
  value       = aws_iam_policy.this.name
}
