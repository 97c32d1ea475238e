"""The digital-twin street: the built-in demo street and what happens in it."""
