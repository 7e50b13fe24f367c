"""The process around the request path: listeners, start-up checks, workers, event loop."""
