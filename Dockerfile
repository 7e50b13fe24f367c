FROM python:3.11-slim

RUN useradd --create-home --uid 10001 gateway
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY gateway ./gateway
# The shipped catalog and demo config travel inside the package; check them at build time.
RUN pip install --no-cache-dir . && linkedin-gateway check-config

USER gateway
ENV GATEWAY_LISTEN=0.0.0.0:8080 \
    GATEWAY_ADMIN_LISTEN=0.0.0.0:8081 \
    PYTHONUNBUFFERED=1
EXPOSE 8080 8081
STOPSIGNAL SIGTERM
CMD ["linkedin-gateway", "serve"]
