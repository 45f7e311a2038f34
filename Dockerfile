# metrics-adapter image: build on Debian 12; run from scratch with only the binary, the shared
# libraries it loads, the CA bundle and name-service files (scripts/image_rootfs.sh lays them
# out): no shell, no package manager. docs/design.md names the build packages; scripts/deps.sh
# installs the same.
#
#   docker build --build-arg GIT_COMMIT=$(git rev-parse --short HEAD) -t metrics-adapter:0.1.0 .
#
# The binary is /usr/local/bin/metrics-adapter; deploy/base/deployment.yaml runs it as uid 65532 on a
# read-only root filesystem. .git is not in the build context, so the commit that `version` and
# /version report comes from GIT_COMMIT.

FROM debian:12 AS build
ARG GIT_COMMIT=unknown
# CMake configures the whole tree, tests included, so GoogleTest and Python are needed to
# configure even though only the server is built. ca-certificates provides the image's CA bundle.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config python3 ca-certificates \
      libboost1.81-dev libssl-dev libcurl4-openssl-dev rapidjson-dev libabsl-dev \
      prometheus-cpp-dev libyaml-cpp-dev libre2-dev libgtest-dev libgmock-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Warnings stay errors in CI (make test); an image build does not fail on one.
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMA_WARNINGS_AS_ERRORS=OFF \
      -DMA_GIT_COMMIT="${GIT_COMMIT}" \
 && cmake --build build --target metrics-adapter \
 && strip --strip-unneeded build/bin/metrics-adapter \
 && build/bin/metrics-adapter version \
 && scripts/image_rootfs.sh build/bin/metrics-adapter /rootfs

FROM scratch
COPY --from=build /rootfs /
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 65532:65532
EXPOSE 6443
ENTRYPOINT ["/usr/local/bin/metrics-adapter"]
