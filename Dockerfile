# hydrowatch: the service and its CLI (`start`, `simulate`, …) in one image.
#   docker build -t hydrowatch .        (docker compose builds it for you)
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY . .
# npm ci runs `prepare`, which compiles TypeScript to dist/; then drop the dev dependencies.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HYDROWATCH_DATA=/data \
    HYDROWATCH_CONFIG=/app/config/demo-network.yaml
WORKDIR /app
COPY --from=build /app /app
# Serving is healthy: /health's 503 (InfluxDB away, readings spooled) is the service doing its job.
# The durable spool and alert state live on a volume owned by the unprivileged user.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 1883 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/health').then(() => process.exit(0), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/hydrowatch.js"]
CMD ["start"]
