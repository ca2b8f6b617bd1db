# One image for both roles; the chart passes the role: `webhooks` or `controllers`.
# Build: docker build -t ghcr.io/vmplane/vmplane:0.1.0 .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY api ./api
COPY kube ./kube
COPY policy ./policy
COPY webhooks ./webhooks
COPY controllers ./controllers
COPY cli ./cli
# Everything in one ES module: no node_modules and no TypeScript at run time.
RUN npm run bundle

# Distroless: Node and nothing else; runs as the unprivileged user 65532 (nonroot).
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
COPY --from=build /src/dist/vmplane.mjs /app/vmplane.mjs
USER 65532:65532
EXPOSE 8443 8080
ENTRYPOINT ["/nodejs/bin/node", "/app/vmplane.mjs"]
CMD ["webhooks"]
