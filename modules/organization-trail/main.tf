resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_18:This bucket is the audit log destination; logging its access to another bucket would need a second log chain. CloudTrail data events can cover it.
  # checkov:skip=CKV_AWS_144:Cross-region replication is a recovery choice with its own cost; versioning and object ownership already protect the logs.
  # checkov:skip=CKV2_AWS_62:Nothing consumes object notifications for CloudTrail log files; alarms come from the CloudWatch Logs copy.
  bucket        = var.bucket_name
  force_destroy = false
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "archive-and-expire"
    status = "Enabled"

    filter {}

    transition {
      days          = var.archive_after_days
      storage_class = "GLACIER"
    }

    expiration {
      days = var.expire_after_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = var.bucket_policy

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_cloudwatch_log_group" "this" {
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "cloudtrail" {
  name               = var.cloudtrail_role_name
  description        = "Lets CloudTrail deliver the trail to CloudWatch Logs"
  assume_role_policy = var.cloudtrail_role_trust_policy
  tags               = var.tags
}

resource "aws_iam_role_policy" "cloudtrail" {
  name   = "deliver-to-cloudwatch-logs"
  role   = aws_iam_role.cloudtrail.id
  policy = var.cloudtrail_role_policy
}

resource "aws_cloudtrail" "this" {
  # checkov:skip=CKV_AWS_252:Trail notifications would announce every log file; the metric filters and alarms are the notification channel.
  name                          = var.trail_name
  s3_bucket_name                = aws_s3_bucket.this.id
  is_organization_trail         = true
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  kms_key_id                    = var.kms_key_arn
  cloud_watch_logs_group_arn    = "${aws_cloudwatch_log_group.this.arn}:*"
  cloud_watch_logs_role_arn     = aws_iam_role.cloudtrail.arn
  tags                          = var.tags

  event_selector {
    read_write_type           = "All"
    include_management_events = true
  }

  depends_on = [aws_s3_bucket_policy.this, aws_iam_role_policy.cloudtrail]
}
