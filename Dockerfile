# syntax=docker/dockerfile:1
# Tollgate's image: compiled JavaScript on Node.js 22 LTS, production dependencies only, a non-root user, and node as
# the container's main process (no npm or shell in between), so SIGTERM from `docker stop` or Kubernetes reaches the
# server's graceful stop. Build: docker build -t tollgate .   Run: see docker-compose.yml.

# 1. build: every dependency, Prisma client generated (postinstall), TypeScript compiled to dist/.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY adapters ./adapters
COPY views ./views
RUN npm run build

# 2. deps: production dependencies only. No install scripts: the generated Prisma client is compiled into dist/.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# 3. runtime: what runs. The migrations are read at start (and by `db migrate`) from prisma/migrations.
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/var/lib/tollgate
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY prisma/migrations ./prisma/migrations
# The embedded database (no DATABASE_URL) lives in DATA_DIR: owned by the unprivileged user, mount a volume there.
RUN mkdir -p /var/lib/tollgate && chown node:node /var/lib/tollgate
USER node
EXPOSE 3000
VOLUME ["/var/lib/tollgate"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# The same command as `npm run start:prod` runs after its build.
CMD ["node", "--enable-source-maps", "dist/src/main.js"]
