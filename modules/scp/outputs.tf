output "id" {
  description = "Id of the service control policy."
  value       = aws_organizations_policy.this.id
}

output "arn" {
  description = "ARN of the service control policy."
  value       = aws_organizations_policy.this.arn
}

output "attachment_ids" {
  description = "Attachment ids keyed like var.target_ids."
  value       = { for k, a in aws_organizations_policy_attachment.this : k => a.id }
}
