# samsa in a container: a broker on port 9092 with its data in the /data volume.
#   docker build -t samsa .
#   docker run -p 9092:9092 -v samsa-data:/data samsa
# Arguments after the image name go to `samsa broker` (they replace the default ones below).

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts off: `prepare` would build before the sources are here; nothing else needs one.
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/NOTICE /app/README.md ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/bundle ./dist/bundle
COPY --from=build /app/protocol-specs ./protocol-specs
RUN mkdir /data && chown node:node /data
# The node image's unprivileged user.
USER node
VOLUME /data
EXPOSE 9092
ENTRYPOINT ["node", "/app/dist/src/cli/index.js", "broker"]
# Clients outside the container reach it as localhost:9092 when the port is published as 9092;
# give --advertised-host (and --port) for another name or port.
CMD ["--data-dir", "/data", "--advertised-host", "localhost"]
