"""The one adversarial trainer shared by every paper."""
