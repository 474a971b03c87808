"""fraud_model package."""
