"""lambda_handler package."""
