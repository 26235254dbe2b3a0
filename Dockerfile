# meshlb's image: one image for both processes.
#   docker build -t meshlb:0.1.0 .
#   docker run --rm meshlb:0.1.0 --help
# The manifests run `node /app/src/cli/main.ts speaker` and `... controller`
# (Node 24 runs the TypeScript sources directly, by type stripping).
# docs/install.md, The image.

# Keep in step with .node-version (test/cluster/deploy.test.ts checks it).
ARG NODE_VERSION=24.21.0

# --- build: production dependencies and the packet-socket addon (native/) ---
FROM node:${NODE_VERSION}-slim AS build
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends build-essential python3 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY native/ native/
# node-gyp is a devDependency of meshlb; npm ships its own copy. The image's Node
# has its headers in /usr/local/include/node: nothing is downloaded.
RUN cd native \
  && node /usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js rebuild --nodedir=/usr/local \
  && rm -rf build/Release/obj.target build/Release/.deps

# --- runtime: Node, the sources, the addon; no compilers ---
FROM node:${NODE_VERSION}-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules node_modules/
COPY --from=build /app/native/build/Release/meshlb_packet.node native/build/Release/meshlb_packet.node
COPY package.json ./
COPY src/ src/
# The image's `node` user. The controller runs as it (its manifest says
# runAsNonRoot). The speaker's manifest runs it as uid 0 holding CAP_NET_RAW and
# no other capability: AF_PACKET sockets need CAP_NET_RAW in the effective set,
# which a non-root process gets only from file capabilities, and those need
# privilege escalation (docs/install.md, Security).
USER 1000:1000
EXPOSE 7472 7473 7946/tcp 7946/udp
ENTRYPOINT ["node", "/app/src/cli/main.ts"]
CMD ["--help"]
