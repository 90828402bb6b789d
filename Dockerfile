# One image for every role (Node 24 LTS); docker-compose.yml builds it once and
# picks the entry point per service.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/protocol/package.json libs/protocol/
COPY libs/wire/package.json libs/wire/
COPY libs/client/package.json libs/client/
COPY libs/launcher/package.json libs/launcher/
COPY libs/server/package.json libs/server/
RUN npm ci
COPY tsconfig.base.json tsconfig.build.json ./
COPY libs ./libs
COPY apps ./apps
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production NO_COLOR=1
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The workspace packages the apps load at run time, as built (node_modules links to them).
COPY --from=build /app/libs ./libs
RUN rm -rf libs/*/src && mkdir -p /data && chown node:node /data
USER node
CMD ["node", "dist/apps/peer/main.js"]
