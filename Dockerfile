# metrics-adapter image: build on Debian 12, run on debian:12-slim with only the shared libraries
# the binary links (docs/design.md names the build packages; scripts/deps.sh installs the same).
#
#   docker build -t metrics-adapter:0.1.0 .
#
# The binary is /usr/local/bin/metrics-adapter; deploy/deployment.yaml runs it as uid 65532 on a
# read-only root filesystem.

FROM debian:12 AS build
# CMake configures the whole tree, tests included, so GoogleTest and Python are needed to
# configure even though only the server is built.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config python3 \
      libboost1.81-dev libssl-dev libcurl4-openssl-dev rapidjson-dev libabsl-dev \
      prometheus-cpp-dev libyaml-cpp-dev libre2-dev libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Warnings stay errors in CI (make test); an image build does not fail on one.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMA_WARNINGS_AS_ERRORS=OFF \
 && cmake --build build --target metrics-adapter \
 && strip --strip-unneeded build/bin/metrics-adapter \
 && build/bin/metrics-adapter version

FROM debian:12-slim
# The runtime halves of the -dev packages above (Boost, RapidJSON and GoogleTest have none the
# binary needs); ca-certificates for an HTTPS Prometheus signed by a public CA.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libssl3 libcurl4 libabsl20220623 libprometheus-cpp-core1.0 \
      libyaml-cpp0.7 libre2-9 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/metrics-adapter /usr/local/bin/metrics-adapter
# Numeric, so that Kubernetes' runAsNonRoot can check it without an /etc/passwd entry.
USER 65532:65532
EXPOSE 6443
ENTRYPOINT ["/usr/local/bin/metrics-adapter"]
