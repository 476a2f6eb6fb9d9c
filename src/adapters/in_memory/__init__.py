"""In-memory fakes of every port: real adapters for unit tests, contract tests and dev mode."""
