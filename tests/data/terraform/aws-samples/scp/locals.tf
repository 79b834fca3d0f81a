locals {
  raw_file = trimsuffix(var.json_file, ".json")
  scp_name = replace(basename(local.raw_file), "_", "-")
}
