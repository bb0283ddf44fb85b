terraform {
  required_version = ">= 1.0"
  required_providers {
    k0stack = {
      source = "k0stack/k0stack"
    }
  }
}
