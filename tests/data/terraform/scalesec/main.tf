#-----scalesec/main.tf----#
# One module per service, each with its own policies, all attached to one target
# (the shape of ScaleSec's security_controls_scp).

provider "aws" {
}

## Deploy IAM SCPs
module "iam" {
  source = "./modules/iam"

  target_id = var.target_id
}

## Deploy EC2 SCPs
module "ec2" {
  source = "./modules/ec2"

  target_id           = var.target_id
  ami_creator_account = var.ami_creator_account
}
