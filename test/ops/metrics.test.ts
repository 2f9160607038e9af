/**
 * `/metrics` against the real server: valid Prometheus text, the process defaults, a stream's
 * series while it publishes, and none of them once the publisher has left.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, waitFor } from '../helpers/server-process.ts';
import { serverForTests } from '../helpers/e2e-media.ts';
import type { Publisher } from '../helpers/ffmpeg-tools.ts';
import { METRIC_PREFIX, PLUGIN_GAUGES, STREAM_METRICS, describeMetrics } from '../../server/http/metrics.ts';
import { metricsTable, parsePrometheusText, publishTestPattern, type PromSample } from './ops-helpers.ts';

const KEY = 'metrics-test';

describe('/metrics', () => {
  const fixture = serverForTests();
  let publisher: Publisher | undefined;

  async function scrape(): Promise<{ types: Map<string, string>; samples: PromSample[]; contentType: string }> {
    const res = await fetch(`${fixture.server.httpBase}/metrics`);
    assert.equal(res.status, 200);
    return { ...parsePrometheusText(await res.text()), contentType: res.headers.get('content-type') ?? '' };
  }
  const streamSamples = (samples: PromSample[]) => samples.filter((s) => s.labels.stream === KEY);
  const value = (samples: PromSample[], name: string) => samples.find((s) => s.name === name && s.labels.stream === KEY)?.value;

  it('serves Prometheus text with process metrics and no streams when idle', async () => {
    const { types, samples, contentType } = await scrape();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(types.get('process_cpu_user_seconds_total'), 'counter');
    assert.equal(types.get('nodejs_eventloop_lag_seconds'), 'gauge');
    assert.equal(samples.find((s) => s.name === `${METRIC_PREFIX}active_streams`)?.value, 0);
    for (const spec of STREAM_METRICS) assert.equal(types.get(METRIC_PREFIX + spec.name), spec.type, spec.name);
    assert.deepEqual(samples.filter((s) => s.labels.stream !== undefined), []);
  });

  it('has one series set per live stream while it publishes', async () => {
    publisher = fixture.track(publishTestPattern(`${fixture.server.rtmpBase}/${KEY}`));
    const samples = await waitFor('frames out for the stream', async () => {
      const s = (await scrape()).samples;
      return (value(s, `${METRIC_PREFIX}frames_out_total`) ?? 0) >= 25 && (value(s, `${METRIC_PREFIX}fps_out`) ?? 0) > 0 ? s : undefined;
    }, 60000, 500);
    assert.equal(samples.find((s) => s.name === `${METRIC_PREFIX}active_streams`)?.value, 1, publisher.stderr());
    const names = new Set(streamSamples(samples).map((s) => s.name));
    // Plugin gauges belong to streams that run their plugin (this one runs background only).
    for (const spec of STREAM_METRICS.filter((m) => !PLUGIN_GAUGES.includes(m))) assert.ok(names.has(METRIC_PREFIX + spec.name), `missing ${spec.name} for the stream`);
    assert.ok(value(samples, `${METRIC_PREFIX}frames_in_total`)! >= value(samples, `${METRIC_PREFIX}frames_out_total`)!);
    const quantiles = streamSamples(samples).filter((s) => s.name === `${METRIC_PREFIX}frame_latency_seconds`);
    assert.deepEqual(quantiles.map((s) => s.labels.quantile).sort(), ['0.5', '0.95', '0.99']);
    const p = Object.fromEntries(quantiles.map((s) => [s.labels.quantile, s.value]));
    assert.ok(p['0.5'] > 0 && p['0.5'] <= p['0.95'] && p['0.95'] <= p['0.99'] && p['0.99'] < 10, JSON.stringify(p));
    assert.ok(value(samples, `${METRIC_PREFIX}process_seconds`)! > 0, 'the background plugin takes measurable worker time');
  });

  it('counts frame buffers: recycled, not one allocated per frame', async () => {
    const samples = await waitFor('200 frames in', async () => {
      const s = (await scrape()).samples;
      return (value(s, `${METRIC_PREFIX}frames_in_total`) ?? 0) >= 200 ? s : undefined;
    }, 60000, 500);
    const allocated = value(samples, `${METRIC_PREFIX}frame_buffers_allocated_total`)!;
    // A start-up burst (the encoder taking its first frames late) may allocate a few dozen.
    assert.ok(allocated > 0 && allocated <= 100, `allocated ${allocated} for ${value(samples, `${METRIC_PREFIX}frames_in_total`)} frames`);
  });

  it('drops the stream\'s series after the publisher leaves', async () => {
    await publisher!.stop();
    const samples = await waitFor('the stream series to go', async () => {
      const s = (await scrape()).samples;
      return streamSamples(s).length === 0 ? s : undefined;
    }, 30000, 300);
    assert.equal(samples.find((s) => s.name === `${METRIC_PREFIX}active_streams`)?.value, 0);
  });
});

describe('docs/production.md', () => {
  it('carries the metrics table generated from server/http/metrics.ts', () => {
    const table = metricsTable(describeMetrics());
    const docs = readFileSync(join(REPO_ROOT, 'docs', 'production.md'), 'utf8');
    assert.ok(docs.includes(table), `replace the metrics table in docs/production.md with:\n${table}`);
  });
});
