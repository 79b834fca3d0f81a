output "arn" {
  description = "ARN of the OIDC identity provider."
  value       = aws_iam_openid_connect_provider.this.arn
}
