"""The deployment config (gateway.yaml): its model and its strict loader."""
