# gslb as a container image, built from this checkout (docs/docker.md). The build runs npm ci and
# the TypeScript build; the image needs no network at run time. It serves /etc/gslb/gslb.yaml:
# mount a configuration there (docker-compose.yml mounts deploy/compose/).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src src
RUN npx tsc -p . && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist/src dist/src
# The dashboard's page is read at run time from the source tree's public files.
COPY src/dashboard/public src/dashboard/public
COPY geo geo
# `gslb admin status`, `gslb explain` inside the container; the state file's directory for "node".
RUN chmod +x dist/src/cli/main.js \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/gslb \
 && mkdir -p /etc/gslb /var/lib/gslb \
 && chown node:node /var/lib/gslb
USER node
EXPOSE 53/udp 53/tcp 80/tcp
CMD ["node", "dist/src/cli/main.js", "serve", "-c", "/etc/gslb/gslb.yaml"]
