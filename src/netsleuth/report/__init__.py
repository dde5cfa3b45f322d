"""Reports: the JSON schema v1 model and its renderings (text, json, markdown)."""
