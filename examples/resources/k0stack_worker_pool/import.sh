# A worker pool is imported by <control plane namespace>/<control plane name>/<pool name>;
# its servers are found by their k0stack tags.
terraform import k0stack_worker_pool.general kmc-system/prod/general
