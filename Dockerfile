# meshlb's image: one image for both processes, for builders with a registry.
#   docker build -t meshlb:0.1.0 .
#   docker run --rm meshlb:0.1.0 --help
# Without Docker or a registry, scripts/image builds the same image as an OCI
# archive. Both ship the tree scripts/image-rootfs assembles: Node (stripped),
# exactly the shared libraries it loads, the compiled JavaScript of src/,
# production node_modules and the packet-socket addon; nothing of lab/ or
# test/. The entrypoint, user, environment and ports are scripts/image-config.json's
# (test/cluster/deploy.test.ts checks that they agree). docs/install.md, The image.

# Keep in step with .node-version (test/cluster/deploy.test.ts checks it).
ARG NODE_VERSION=24.21.0

# --- build: compile, production dependencies, the addon, the root filesystem ---
FROM node:${NODE_VERSION}-slim AS build
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends build-essential python3 \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The image's Node is 24 with its headers in /usr/local/include/node: bootstrap.sh
# fetches nothing, node-gyp builds the addon against them.
RUN scripts/image-rootfs /rootfs

# --- runtime: that tree alone ---
FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production
WORKDIR /app
# The image's `node` user. The controller runs as it (its manifest says
# runAsNonRoot). The speaker's manifest runs it as uid 0 holding CAP_NET_RAW and
# no other capability: AF_PACKET sockets need CAP_NET_RAW in the effective set,
# which a non-root process gets only from file capabilities, and those need
# privilege escalation (docs/install.md, Security).
USER 1000:1000
EXPOSE 7473/tcp 7475/tcp 7947/tcp 7947/udp
LABEL org.opencontainers.image.title=meshlb
ENTRYPOINT ["/usr/local/bin/node", "/app/src/cli/main.js"]
CMD ["--help"]
