variable "log_group_name" {
  description = "CloudWatch Logs group that receives the CloudTrail events."
  type        = string
}

variable "namespace" {
  description = "Namespace of the metrics the filters publish."
  type        = string
  default     = "CloudTrailMetrics"
}

variable "alarms" {
  description = "Alarms keyed by id: the metric name, the filter pattern and a description."
  type = map(object({
    metric_name = string
    pattern     = string
    description = string
  }))
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires (an SNS topic)."
  type        = list(string)
}

variable "tags" {
  description = "Tags for the alarms."
  type        = map(string)
  default     = {}
}
