target_id           = "ou-ab12-prod00001"
ami_creator_account = "999999999999"
