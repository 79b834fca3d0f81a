output "alarm_arns" {
  description = "ARNs of the alarms, keyed by alarm id."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.arn }
}
