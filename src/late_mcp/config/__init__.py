"""Settings from the environment: the server's, and the HTTP transport's."""
