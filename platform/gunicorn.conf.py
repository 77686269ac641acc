# gunicorn settings for coachbench's web nodes; every value can be overridden by environment.
from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One process per core plus one, each with eight threads (gthread). A log-in hashes its password for
# ~0.4 s of CPU with the GIL released; with two threads a process, a handful of coaches logging in at
# once held every slot and the others' submits queued for seconds in the listen backlog. Eight threads
# let short requests share the CPU with the hashing instead (make loadtest: 100 coaches on two cores,
# 5 x 2 -> 3 x 8: 183 -> 898 submits in 3 minutes, submit p95 54 s -> 3.6 s on a machine loaded ~14).
# Database connections: workers x threads per web node (CONN_MAX_AGE keeps them open).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycling guards against slow leaks; a restart costs a Django start-up and cold caches, so not too often.
max_requests = 10000
max_requests_jitter = 1000
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
