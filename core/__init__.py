"""Platform plumbing: the job runner and its models, the REST API kit, hot-path database access,
log-in and reset throttles, session expiry, deployment checks. Imports no domain app."""
