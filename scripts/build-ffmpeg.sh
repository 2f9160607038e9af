#!/usr/bin/env bash
# Builds the stream ffmpeg: Debian's own ffmpeg source package (`apt-get source ffmpeg`, Debian's
# patches applied, the same version apt installs) configured with only what the server's decoder
# and encoder commands use (server/pipeline/ffmpeg-args.ts), linked statically against its own
# libav* and dynamically against Debian's libx264. The server prefers it over Debian's ffmpeg
# (server/pipeline/ffmpeg-path.ts).
#
# Why: Debian's ffmpeg maps ~220 shared libraries (its libavfilter and libavdevice link flite,
# librsvg, SDL, PulseAudio...). Each of a stream's two ffmpeg processes holds ~70 MB RSS, ~40 MB of
# it those libraries' pages and ~8 MB their relocated data; this build holds ~25 MB
# (docs/production.md, "The stream ffmpeg").
#
# Output: build/ffmpeg/ffmpeg and build/ffmpeg/VERSION (the Debian source version). Skips the build
# when VERSION already names the version apt would fetch. Needs deb-src entries and the build tools
# (gcc, make, nasm, pkg-config, libx264-dev, dpkg-dev); run as root with `--install-deps` it adds
# both. With `--if-possible` (what `npm start` and `npm test` run) a machine without them gets a
# one-line hint and exit 0: the server then runs Debian's ffmpeg. Takes ~2 minutes on 2 cores.
# Rerun after Debian updates ffmpeg (security fixes); `npm start` does when it can.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build/ffmpeg"

if [ "${1:-}" = "--install-deps" ]; then
  if [ -z "$(apt-cache showsrc ffmpeg 2>/dev/null)" ]; then
    # The machine's Debian sources (deb822) again, for source packages.
    [ -f /etc/apt/sources.list.d/debian.sources ] || { echo "build-ffmpeg: no /etc/apt/sources.list.d/debian.sources to derive deb-src entries from" >&2; exit 1; }
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/debian-src.sources
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    gcc make nasm pkg-config libx264-dev dpkg-dev xz-utils >/dev/null
fi

if [ "${1:-}" = "--if-possible" ]; then
  missing=()
  for tool in apt-get gcc make nasm pkg-config dpkg-source; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  command -v pkg-config >/dev/null && ! pkg-config --exists x264 && missing+=(libx264-dev)
  command -v apt-cache >/dev/null && [ -z "$(apt-cache showsrc ffmpeg 2>/dev/null | head -1)" ] && missing+=(deb-src)
  if [ ${#missing[@]} -gt 0 ]; then
    [ -x "$out/ffmpeg" ] && exit 0
    echo "build-ffmpeg: not building the stream ffmpeg (missing: ${missing[*]}); the server runs Debian's ffmpeg (~45 MB more RSS per process). As root: npm run build:ffmpeg -- --install-deps" >&2
    exit 0
  fi
fi

version="$(apt-cache policy ffmpeg 2>/dev/null | sed -n 's/^ *Candidate: //p')"
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
  echo "build-ffmpeg: apt knows no ffmpeg package (is this Debian?)" >&2
  exit 1
fi
if [ -x "$out/ffmpeg" ] && [ "$(cat "$out/VERSION" 2>/dev/null)" = "$version" ]; then
  echo "build-ffmpeg: $out/ffmpeg is Debian's ffmpeg $version already"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "build-ffmpeg: fetching Debian's ffmpeg $version source"
if ! apt-get source -qq "ffmpeg=$version" >/dev/null 2>apt.err; then
  cat apt.err >&2
  echo "build-ffmpeg: apt-get source failed: enable deb-src entries (or run as root with --install-deps)" >&2
  exit 1
fi
src="$(find . -maxdepth 1 -type d -name 'ffmpeg-*' | head -1)"
cd "$src"

# Each component is one the server's commands name or ffmpeg inserts for them:
#   decoder  FLV on stdin (flv demuxer, h264 parser and decoder) -> crop or scale+pad+setsar,
#            format -> YUV4MPEG2 on stdout (yuv4mpegpipe muxer, wrapped_avframe encoder)
#   encoder  YUV4MPEG2 on stdin (yuv4mpegpipe demuxer, rawvideo decoder) + the publisher's audio
#            as FLV on fd 3 (copied; aac/mp3 parsers and decoders for probing) -> libx264 -> tee ->
#            FLV over RTMP (rtmp, tcp) and HLS (hls, mpegts, file; h264_mp4toannexb, aac_adtstoasc)
# --toolchain=hardened: PIE, stack protector, FORTIFY_SOURCE, full RELRO, as Debian builds it.
./configure --toolchain=hardened --disable-everything --disable-autodetect --disable-doc \
  --disable-programs --enable-ffmpeg --enable-gpl --enable-libx264 --enable-pthreads \
  --enable-static --disable-shared \
  --enable-protocol=pipe,file,rtmp,tcp \
  --enable-demuxer=flv,live_flv,yuv4mpegpipe \
  --enable-muxer=yuv4mpegpipe,tee,flv,hls,mpegts,null \
  --enable-decoder=h264,rawvideo,aac,mp3 \
  --enable-encoder=libx264,wrapped_avframe,rawvideo \
  --enable-parser=h264,aac,mpegaudio \
  --enable-bsf=h264_mp4toannexb,aac_adtstoasc,extract_extradata,null \
  --enable-filter=buffer,buffersink,abuffer,abuffersink,scale,pad,crop,setsar,format,null,anull,aformat,aresample \
  --enable-swscale --enable-swresample --enable-avfilter \
  --extra-version="livematte-$version" >configure.log 2>&1 || { tail -20 configure.log >&2; exit 1; }
echo "build-ffmpeg: compiling"
make -j"$(nproc)" ffmpeg >make.log 2>&1 || { tail -30 make.log >&2; exit 1; }

mkdir -p "$out"
install -m 0755 ffmpeg "$out/ffmpeg.new"
mv "$out/ffmpeg.new" "$out/ffmpeg"
printf '%s\n' "$version" > "$out/VERSION"
echo "build-ffmpeg: built $out/ffmpeg ($("$out/ffmpeg" -hide_banner -version | head -1))"
