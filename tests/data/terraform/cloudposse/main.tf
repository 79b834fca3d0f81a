# SCP statements kept as YAML catalogs, combined into one policy per target by cloudposse's
# modules (the shape of terraform-aws-service-control-policies' examples).

module "scp_statements" {
  source  = "cloudposse/config/yaml"
  version = "1.0.2"

  list_config_local_base_path = path.module
  list_config_paths = [
    "catalog/organization-policies.yaml",
    "catalog/s3-policies.yaml",
  ]

  parameters = {
    data_region = var.data_region
  }
}

module "workloads_scp" {
  source  = "cloudposse/service-control-policies/aws"
  version = "0.15.1"

  service_control_policy_statements  = module.scp_statements.list_configs
  service_control_policy_description = "Baseline for workload accounts: stay in the organization, keep S3 data in its region"
  target_id                          = var.workloads_ou_id

  namespace = "acme"
  stage     = "prod"
  name      = "workloads"
}
