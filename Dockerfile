# One image for both roles; the chart passes the role: `webhooks` or `controllers`.
# Build: docker build -t ghcr.io/vmplane/vmplane:0.1.0 .

# The Kubernetes CEL engine policies run in: kube-apiserver v1.35.4's CEL (k8s.io/apiserver v0.35.4)
# as a native program the webhooks and the controllers run beside them, built from the Go module
# proxy like `vmplane` builds it on a workstation (the offline CLI's WebAssembly build is not
# needed here: nothing in the image runs it).
FROM golang:1.25-bookworm AS kcel
WORKDIR /src
COPY policy/kcel/*.go ./
RUN printf 'module vmplane.local/kcel\n\ngo 1.25\n\nrequire (\n\tk8s.io/apimachinery v0.35.4\n\tk8s.io/apiserver v0.35.4\n\tk8s.io/component-base v0.35.4\n)\n' > go.mod \
 && GOFLAGS=-mod=mod go mod tidy \
 && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags '-s -w' -o /out/kcel .

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY api ./api
COPY kube ./kube
COPY policy ./policy
COPY decisions ./decisions
COPY webhooks ./webhooks
COPY controllers ./controllers
COPY cli ./cli
# Everything in one ES module: no node_modules and no TypeScript at run time.
RUN npm run bundle

# Distroless: Node and nothing else; runs as the unprivileged user 65532 (nonroot).
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
COPY --from=build /src/dist/vmplane.mjs /app/vmplane.mjs
COPY --from=kcel /out /app/kcel
ENV VMPLANE_CEL_DIR=/app/kcel
USER 65532:65532
EXPOSE 8443 8080
ENTRYPOINT ["/nodejs/bin/node", "/app/vmplane.mjs"]
CMD ["webhooks"]
