"""Detection over Entra audit and sign-in logs."""
