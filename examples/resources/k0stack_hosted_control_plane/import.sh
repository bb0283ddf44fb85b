# A hosted control plane is imported by <namespace>/<name> of its k0smotron Cluster.
terraform import k0stack_hosted_control_plane.prod kmc-system/prod
