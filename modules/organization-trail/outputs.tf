output "trail_arn" {
  description = "ARN of the organization trail."
  value       = aws_cloudtrail.this.arn
}

output "bucket_name" {
  description = "Name of the log bucket."
  value       = aws_s3_bucket.this.id
}

output "log_group_name" {
  description = "Name of the CloudWatch Logs group."
  value       = aws_cloudwatch_log_group.this.name
}
