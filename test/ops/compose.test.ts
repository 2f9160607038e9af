/**
 * The deployment files without a Docker engine: docker-compose.yml parsed and checked, the
 * Dockerfiles' install steps against .ci/run's, the paths and addresses that must agree across
 * compose, nginx and the server, and the image's HEALTHCHECK command run against a real server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT, type ServerProcess } from '../helpers/server-process.ts';
import { startServerOnFreePorts } from '../helpers/e2e-media.ts';
import { freePort } from '../helpers/free-port.ts';
import { STREAM_FFMPEG_PATH } from '../../server/pipeline/ffmpeg-path.ts';
import { configEnvNames } from '../../server/config.ts';

const run = promisify(execFile);
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(path: string): { op: string; args: string }[] {
  return read(path).replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    .map((l) => { const [op, ...rest] = l.split(/\s+/); return { op: op.toUpperCase(), args: rest.join(' ') }; });
}

/** aptPackages lists what `apt-get install ... <packages>` installs in a RUN line. */
function aptPackages(run: string): string[] {
  const m = /apt-get install ((?:-\S+\s+)*)([a-z0-9][a-z0-9 .+-]*?)\s*(?:>|&&|$)/.exec(run);
  return m ? m[2].trim().split(/\s+/) : [];
}

const APT_INSTALL = 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends';
const ciRun = read('.ci/run');
const ciPackages = [...ciRun.matchAll(/need\+=\(([^)]*)\)/g)].flatMap((m) => m[1].trim().split(/\s+/));

interface Service {
  build?: string;
  command?: string[];
  ports?: string[];
  expose?: string[];
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean; bind?: { create_host_path?: boolean } })[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
}
const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };

describe('docker-compose.yml', () => {
  const { server, nginx } = compose.services;

  it('has the server and nginx services and the media volume', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['nginx', 'server']);
    assert.ok('media' in compose.volumes);
    assert.equal(server.build, '.');
    assert.equal(nginx.build, './nginx');
  });

  it('runs the server with the mounted config file and the media volume', () => {
    assert.deepEqual(server.command, ['npm', 'start', '--', '--config', '/app/config.yaml']);
    assert.ok(server.volumes?.includes('media:/app/media'));
    const config = server.volumes?.find((v) => typeof v === 'object' && v.target === '/app/config.yaml');
    assert.ok(config && typeof config === 'object');
    assert.equal(config.source, './config.yaml');
    assert.equal(config.read_only, true);
    assert.equal(config.bind?.create_host_path, false, 'a missing config.yaml must fail, not become a folder');
  });

  it('publishes RTMP from the server and HTTP only from nginx', () => {
    assert.deepEqual(server.ports, ['1935:1935']);
    assert.deepEqual(server.expose, ['8000']);
    assert.deepEqual(nginx.ports, ['80:80']);
  });

  it('health-checks the server, and nginx waits for it', () => {
    assert.match(server.healthcheck?.test.join(' ') ?? '', /\/healthz/);
    assert.ok(nginx.healthcheck?.test.length);
    assert.deepEqual(nginx.depends_on, { server: { condition: 'service_healthy' } });
  });

  it('agrees with nginx.conf and rtmp.conf on addresses and the media path', () => {
    const conf = read('nginx/nginx.conf');
    const mount = nginx.volumes?.find((v): v is string => typeof v === 'string' && v.startsWith('media:'));
    assert.equal(mount, 'media:/srv/media:ro');
    assert.match(conf, /^\s*root \/srv\/media;/m, 'nginx serves HLS from where compose mounts the media volume');
    assert.match(conf, /^\s*server server:8000;/m, 'the upstream is the server service\'s HTTP port');
    assert.match(conf, /^\s*listen 80;/m);
    assert.match(read('nginx/rtmp.conf'), /^\s*push rtmp:\/\/server:1935\/live;/m);
  });

  it('validates with `docker compose config` when the compose plugin exists', async (t) => {
    const available = await run('docker', ['compose', 'version']).then(() => true, () => false);
    if (!available) {
      t.skip('no docker compose plugin here');
      return;
    }
    await run('docker', ['compose', '-f', join(REPO_ROOT, 'docker-compose.yml'), 'config', '--quiet', '--no-interpolate'], { cwd: REPO_ROOT });
  });
});

describe('docker-compose.cluster.yml', () => {
  const cluster = parseYaml(read('docker-compose.cluster.yml')) as { services: Record<string, Service & { environment?: Record<string, string>; command?: string[] }> };
  const env = cluster.services.node?.environment ?? {};
  const known = new Set(Object.values(configEnvNames()));

  it('has the nodes, the nginx front, Redis and PostgreSQL', () => {
    assert.deepEqual(Object.keys(cluster.services).sort(), ['front', 'node', 'postgres', 'redis']);
  });

  it('sets only configuration keys the server knows, pointing at the services', () => {
    for (const name of Object.keys(env)) assert.ok(known.has(name), `${name} is not a configuration variable`);
    assert.equal(env.LIVEMATTE_CLUSTER_ENABLED, 'true');
    assert.match(env.LIVEMATTE_CLUSTER_REDIS_URL!, /^redis:\/\/redis:6379/);
    assert.match(env.LIVEMATTE_EVENTS_POSTGRES_URL!, /@postgres:5432\//);
    assert.equal(env.LIVEMATTE_EVENTS_STORE, 'postgres');
  });

  it('agrees with nginx/cluster/cluster.conf on the origin, the node ports and the HLS folder', () => {
    const conf = read('nginx/cluster/cluster.conf');
    assert.match(conf, /server node:1935 /);
    assert.match(conf, /server node:8000 /);
    assert.match(env.LIVEMATTE_CLUSTER_ORIGIN_RTMP_URL!, /^rtmp:\/\/front:1936\/live$/);
    assert.match(conf, /listen 1936;/);
    assert.match(conf, /hls_path \/srv\/origin-hls\/live;/);
    assert.ok(cluster.services.front!.volumes!.some((v) => String(v) === 'origin-hls:/srv/origin-hls'));
    const cmd = cluster.services.front!.command!;
    assert.equal(cmd[cmd.indexOf('-c') + 1], '/etc/nginx/live-matte/cluster/cluster.conf');
  });
});

describe('Dockerfiles', () => {
  const image = dockerfile('Dockerfile');
  const nginxImage = dockerfile('nginx/Dockerfile');
  const runs = image.filter((i) => i.op === 'RUN').map((i) => i.args);

  it('builds the stream ffmpeg with .ci/run\'s script and flags, on node:20-bookworm-slim', () => {
    assert.deepEqual(image.filter((i) => i.op === 'FROM').map((i) => i.args), ['node:20-bookworm-slim AS ffmpeg', 'node:20-bookworm-slim']);
    assert.ok(runs.some((r) => r.endsWith('scripts/build-ffmpeg.sh --install-deps')), runs.join('\n'));
    assert.ok(ciRun.includes('bash scripts/build-ffmpeg.sh --install-deps'), '.ci/run builds the stream ffmpeg differently: update the Dockerfile');
    assert.ok(image.some((i) => i.op === 'COPY' && i.args === '--from=ffmpeg /build-ffmpeg/build/ffmpeg ./build/ffmpeg'));
  });

  it('installs from apt only the library the stream ffmpeg links beyond libc, as .ci/run installs packages', { skip: !existsSync(STREAM_FFMPEG_PATH) && 'stream ffmpeg not built here' }, async () => {
    const apt = runs.find((r) => r.includes('apt-get install') && !r.includes('build-ffmpeg'));
    assert.ok(apt?.includes(APT_INSTALL), apt);
    assert.ok(ciRun.includes(APT_INSTALL), '.ci/run changed its apt-get flags: update the Dockerfiles');
    // The packages that provide the built binary's shared libraries, libc's own package aside.
    const { stdout } = await run('ldd', [STREAM_FFMPEG_PATH]);
    const libs = [...stdout.matchAll(/=> (\/\S+)/g)].map((m) => m[1]);
    const owners = new Set<string>();
    for (const lib of libs) {
      const { stdout: owner } = await run('dpkg-query', ['-S', lib.replace(/^\/lib\//, '/usr/lib/')]).catch(() => run('dpkg-query', ['-S', lib]));
      owners.add(owner.split(':')[0]);
    }
    owners.delete('libc6');
    assert.deepEqual(aptPackages(apt!), [...owners].sort());
  });

  it('installs npm dependencies with .ci/run\'s command, then starts with npm start', () => {
    const ciNpm = /^npm ci.*$/m.exec(ciRun)?.[0];
    assert.ok(ciNpm);
    assert.ok(runs.some((r) => r.startsWith(ciNpm)), `no RUN starts with '${ciNpm}'`);
    assert.deepEqual(JSON.parse(image.find((i) => i.op === 'CMD')!.args), ['npm', 'start']);
    assert.deepEqual(image.find((i) => i.op === 'EXPOSE')?.args.split(' ').sort(), ['1935', '8000']);
    for (const i of image.filter((x) => x.op === 'COPY' && !x.args.startsWith('. ') && !x.args.startsWith('--from='))) {
      for (const source of i.args.split(' ').slice(0, -1)) assert.ok(existsSync(join(REPO_ROOT, source)), `COPY source ${source} is missing`);
    }
    const ignored = read('.dockerignore').split('\n');
    for (const path of ['node_modules', 'models/build', 'media', '.git']) assert.ok(ignored.includes(path), `.dockerignore lacks ${path}`);
  });

  it('builds nginx from Debian with the packages .ci/run tests with, and its config', () => {
    assert.equal(nginxImage[0].args, 'debian:bookworm-slim');
    const apt = nginxImage.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))!.args;
    assert.ok(apt.includes(APT_INSTALL), apt);
    const packages = aptPackages(apt);
    assert.deepEqual(packages, ['nginx', 'libnginx-mod-rtmp', 'libnginx-mod-stream']);
    for (const p of packages) assert.ok(ciPackages.includes(p), `${p} is not in .ci/run`);
    const cmd = JSON.parse(nginxImage.find((i) => i.op === 'CMD')!.args) as string[];
    const config = cmd[cmd.indexOf('-c') + 1];
    assert.equal(config, '/etc/nginx/live-matte/nginx.conf');
    assert.ok(existsSync(join(REPO_ROOT, 'nginx', 'nginx.conf')) && existsSync(join(REPO_ROOT, 'nginx', 'nginx-rtmp.conf')));
  });
});

describe('the image HEALTHCHECK command', () => {
  let server: ServerProcess;
  const healthcheck = JSON.parse(dockerfile('Dockerfile').find((i) => i.op === 'HEALTHCHECK')!.args.replace(/^.*?CMD\s+/, '')) as string[];
  const runCheck = (port: number) => new Promise<number>((resolve) => {
    execFile(process.execPath, healthcheck.slice(1), { env: { ...process.env, LIVEMATTE_HTTP_PORT: String(port) }, timeout: 10000 },
      (err) => resolve(err ? Number((err as { code?: number }).code ?? 1) : 0));
  });

  before(async () => {
    server = await startServerOnFreePorts();
  });
  after(async () => {
    await server?.stop();
  });

  it('passes against a running server and fails where nothing listens', async () => {
    assert.equal(healthcheck[0], 'node');
    assert.equal(await runCheck(server.httpPort), 0);
    assert.equal(await runCheck(await freePort()), 1);
  });
});
