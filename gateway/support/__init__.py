"""What every stage leans on: memos, caches, logs, metrics, secret masking, token buckets,
the outbound HTTP session and the flush timer."""
