FROM python:3.11-slim

RUN useradd --create-home --uid 10001 gateway
WORKDIR /app
# Dependencies first, from the hashed lock, so a source change reuses this layer.
COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md LICENSE ./
COPY config ./config
COPY gateway ./gateway
# The shipped catalog and demo config travel inside the package; check them at build time.
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && linkedin-gateway check-config

USER gateway
# The admin listener stays on loopback inside the container: the health check reaches it
# there. Publishing it (GATEWAY_ADMIN_LISTEN=0.0.0.0:8081) needs admin_token_env, or the
# config is refused (README, "Admin endpoints").
ENV GATEWAY_LISTEN=0.0.0.0:8080 \
    GATEWAY_ADMIN_LISTEN=127.0.0.1:8081 \
    PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8081/healthz', timeout=2)"]
STOPSIGNAL SIGTERM
CMD ["linkedin-gateway", "serve"]
