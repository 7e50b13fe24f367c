"""The request path over HTTP: the handler that sequences each call, bodies, headers, answers."""
