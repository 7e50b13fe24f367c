"""What every stage leans on: memos, caches, logs, metrics, secret masking, token buckets."""
