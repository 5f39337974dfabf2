"""Who is calling: principals and caller ids, and the stores of scoped bearer tokens."""
