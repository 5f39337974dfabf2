"""The Late REST API: one async client, its models and its errors."""
