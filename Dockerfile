# Mission Control in a container. Build and run (the data folder is a volume; the token comes
# from your .env):
#   docker build -t mission-control .
#   docker run -d --name mission-control --env-file .env -v mission-control-data:/data \
#     --stop-timeout 30 mission-control
# `docker build --target test .` runs the checks CI runs, inside the image.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN node scripts/build.mjs

FROM build AS test
RUN npm test && npm run typecheck && npm run lint

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
# Not root: the bot needs nothing but its data folder.
USER node
VOLUME ["/data"]
# Exec form, so SIGTERM from `docker stop` reaches node itself: it lets runs in progress finish
# (up to 10 s), saves and exits 0. Give it more than that (--stop-timeout 30).
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
