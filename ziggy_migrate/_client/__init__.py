"""The HTTP layer: the transport (session, authentication, retries, deadlines, answer
limits, redaction), the typed endpoints, and the shapes answers are checked against."""
