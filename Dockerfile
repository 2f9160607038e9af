# live-matte server image: Node 20 on Debian bookworm, the stream ffmpeg built from Debian's ffmpeg
# source, models built at install.
# Build: docker build -t live-matte .   Run: see docker-compose.yml and docs/production.md.

# The stream ffmpeg: Debian's ffmpeg source with only what the server runs (scripts/build-ffmpeg.sh,
# the same script and flags .ci/run builds the tested one with).
FROM node:20-bookworm-slim AS ffmpeg
COPY scripts/build-ffmpeg.sh /build-ffmpeg/scripts/
RUN bash /build-ffmpeg/scripts/build-ffmpeg.sh --install-deps

FROM node:20-bookworm-slim

# ffmpeg (a decoder and an encoder per stream) is the one native program the server runs; the
# stream build links Debian's libx264 and nothing else beyond libc.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libx264-164 >/dev/null \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first (cached while only the server's source changes). npm ci's postinstall builds
# the ONNX models from the MediaPipe packages, and needs models/ for that. package.json's
# allowScripts denies onnxruntime-node's install script (it downloads CUDA libraries from NuGet);
# the image's npm 10 does not read allowScripts yet, so the script is also told to skip.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
COPY models ./models
RUN npm ci --no-audit --no-fund \
 && npm cache clean --force

COPY . .
COPY --from=ffmpeg /build-ffmpeg/build/ffmpeg ./build/ffmpeg
# npm start runs the compiled JavaScript in dist/ (no TypeScript loader in the running server).
RUN npm run build
# The media and data folders belong to the unprivileged user; a new named volume on /app/media
# takes this ownership.
RUN mkdir -p media data && chown node:node media data
USER node

ENV LIVEMATTE_MEDIA_ROOT=/app/media \
    LIVEMATTE_DATA_DIR=/app/data

EXPOSE 1935 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.LIVEMATTE_HTTP_PORT || 8000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["npm", "start"]
