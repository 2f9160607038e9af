/**
 * Face recognition accuracy on the shared footage (the measurement the default match threshold
 * comes from): five identities (sister.mkv, again.mkv, the woman of head-pose-face-detection-female.gif,
 * who is also the left-hand adult of face-demographics-walking-and-pause.gif (same face and hair
 * by eye, and the model agrees; not stated by SOURCES.md), and the middle and right adults there,
 * told apart by where they stand) are enrolled from frames of the first part of their first clip
 * and identified in frames of its last half and in the other clip (the woman in the corridor);
 * the faces of one-by-one-person-detection.mp4 are strangers (enrolled nowhere). The pipeline is enrolment's: BlazeFace full range (tiles auto), dlib chip by the eyes,
 * face-embed, cosine similarity, a person's score the best over their references. It prints the
 * genuine and impostor score spreads, the threshold that keeps the false-match rate at or under 1%,
 * the true-match rate there, and rank-1 identification; models/README.md carries the figures.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { closeFaceDetector, detectFacesInImage, openFaceDetector, type FaceImageDetector } from '../../models/face/detect-image.ts';
import { cosineSimilarity, l2Normalise, openFaceEmbedder, type FaceEmbedder } from '../../models/face/face-embedder.ts';
import { alignDetectedFace } from '../../models/face/align-face.ts';
import type { FaceDetection } from '../../models/face/decode.ts';
import { mediaFile, mediaSkip } from '../helpers/e2e-media.ts';
import { MIN_FACE_PX } from '../../server/people/enrol-worker.ts';
import { MATCH_DEFAULTS } from '../../plugins/faces/faces-options.ts';

const run = promisify(execFile);

/** ClipSpec: a clip, its size, the frame rate sampled, and who each face is (undefined: not used). */
interface ClipSpec {
  clip: string;
  width: number;
  height: number;
  fps: number;
  identify(face: FaceDetection): string | undefined;
}

const CLIPS: ClipSpec[] = [
  { clip: 'sister.mkv', width: 640, height: 480, fps: 10, identify: () => 'sister' },
  { clip: 'again.mkv', width: 640, height: 480, fps: 10, identify: () => 'again' },
  { clip: 'head-pose-face-detection-female.gif', width: 480, height: 270, fps: 10, identify: () => 'woman' },
  {
    clip: 'face-demographics-walking-and-pause.gif', width: 480, height: 270, fps: 10,
    // Three adults who keep their places: box centres near x 80-110, 225-232 and 325-375 px.
    identify: (f) => { const x = f.xMin + f.width / 2; return x < 160 ? 'woman' : x < 290 ? 'corridor-middle' : 'corridor-right'; },
  },
];
const STRANGERS: ClipSpec = { clip: 'one-by-one-person-detection.mp4', width: 768, height: 432, fps: 1, identify: () => 'stranger' };
/** ENROL_FRACTION: references come from this first part of each clip, probes from its last half. */
const ENROL_FRACTION = 0.25;
const REFERENCES_PER_PERSON = 3;
const TARGET_FMR = 0.01;

interface Sample { who: string; clip: string; frame: number; frames: number; embedding: Float32Array; descriptor: Float32Array; widthPx: number }

async function frames(spec: ClipSpec): Promise<Uint8Array[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', mediaFile(spec.clip), '-vf', `fps=${spec.fps}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 1 << 30 });
  const size = spec.width * spec.height * 3;
  const out: Uint8Array[] = [];
  for (let at = 0; at + size <= stdout.length; at += size) out.push(new Uint8Array(stdout.buffer, stdout.byteOffset + at, size));
  return out;
}

/** quantile of sorted values (linear between ranks). */
function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (i - lo);
}

describe('face recognition accuracy on the shared footage', { skip: mediaSkip }, () => {
  let detector: FaceImageDetector;
  let embedder: FaceEmbedder;
  const samples: Sample[] = [];

  before(async () => {
    detector = await openFaceDetector('full');
    embedder = await openFaceEmbedder();
    for (const spec of [...CLIPS, STRANGERS]) {
      const all = await frames(spec);
      for (const [i, data] of all.entries()) {
        const image = { data, width: spec.width, height: spec.height, channels: 3 as const };
        for (const face of await detectFacesInImage(detector, image, { tiles: 'auto' })) {
          const who = spec.identify(face);
          if (!who || face.width < MIN_FACE_PX) continue;
          const descriptor = await embedder.descriptor(alignDetectedFace(image, face).chip);
          samples.push({ who, clip: spec.clip, frame: i, frames: all.length, embedding: l2Normalise(descriptor), descriptor, widthPx: face.width });
        }
      }
    }
  });
  after(async () => {
    await closeFaceDetector(detector);
    await embedder.close();
  });

  /** Figures is one metric's result over the protocol (similarities: higher = more alike). */
  interface Figures { atDefault?: { threshold: number; tmr: number; tmrSameClip: number; tmrCrossClip: number; fmr: number }; people: string[]; crossClip: number; tmrSameClip: number; tmrCrossClip: number; known: number; strangers: number; genuine: number[]; impostor: number[]; threshold: number; fmr: number; tmr: number; zeroThreshold: number; tmrAtZero: number; rank1: number; rank1Over: number; strangersOver: number; byPerson: Map<string, number[]> }

  function evaluate(similarity: (a: Sample, b: Sample) => number): Figures {
    const people = [...new Set(samples.filter((s) => s.who !== 'stranger').map((s) => s.who))];
    // References from the first clip a person is in; probes from its last half, and every frame of their other clips.
    const enrolClip = new Map(people.map((p) => [p, samples.find((s) => s.who === p)!.clip]));
    const gallery = new Map(people.map((p) => [p, samples.filter((s) => s.who === p && s.clip === enrolClip.get(p) && s.frame < s.frames * ENROL_FRACTION).slice(0, REFERENCES_PER_PERSON)]));
    for (const [p, refs] of gallery) assert.equal(refs.length, REFERENCES_PER_PERSON, `${p}: references`);
    const probes = samples.filter((s) => s.who === 'stranger' || s.clip !== enrolClip.get(s.who) || s.frame >= s.frames / 2);
    const ranked = probes.map((probe) => ({
      probe,
      scores: people.map((p) => ({ p, s: Math.max(...gallery.get(p)!.map((r) => similarity(probe, r))) })).sort((a, b) => b.s - a.s),
    }));
    const genuine: number[] = [];
    const impostor: number[] = [];
    const byPerson = new Map<string, number[]>();
    for (const { probe, scores } of ranked) {
      for (const { p, s } of scores) (p === probe.who ? genuine : impostor).push(s);
      if (probe.who !== 'stranger') byPerson.set(probe.who, [...(byPerson.get(probe.who) ?? []), scores.find((x) => x.p === probe.who)!.s]);
    }
    genuine.sort((a, b) => a - b);
    impostor.sort((a, b) => a - b);
    // The lowest threshold whose false-match rate (impostor scores >= t) is at most TARGET_FMR.
    const threshold = impostor[impostor.length - 1 - Math.floor(impostor.length * TARGET_FMR)]! + 1e-6;
    const zeroThreshold = impostor.at(-1)! + 1e-6;
    const rate = (v: number[], t: number) => v.filter((x) => x >= t).length / v.length;
    const known = ranked.filter((r) => r.probe.who !== 'stranger');
    const strangers = ranked.filter((r) => r.probe.who === 'stranger');
    const genuineOf = (cross: boolean) => known.filter((r) => (r.probe.clip !== enrolClip.get(r.probe.who)) === cross).map((r) => r.scores.find((x) => x.p === r.probe.who)!.s);
    const atDefault = (t: number) => ({ threshold: t, tmr: rate(genuine, t), tmrSameClip: rate(genuineOf(false), t), tmrCrossClip: rate(genuineOf(true), t), fmr: rate(impostor, t) });
    return {
      atDefault: atDefault(MATCH_DEFAULTS.matchThreshold),
      people, crossClip: genuineOf(true).length, tmrSameClip: rate(genuineOf(false), threshold), tmrCrossClip: rate(genuineOf(true), threshold), known: known.length, strangers: strangers.length, genuine, impostor, threshold, zeroThreshold,
      fmr: rate(impostor, threshold), tmr: rate(genuine, threshold), tmrAtZero: rate(genuine, zeroThreshold),
      rank1: known.filter((r) => r.scores[0]!.p === r.probe.who).length / known.length,
      rank1Over: known.filter((r) => r.scores[0]!.p === r.probe.who && r.scores[0]!.s >= threshold).length / known.length,
      strangersOver: strangers.filter((r) => r.scores[0]!.s >= threshold).length,
      byPerson,
    };
  }

  function report(name: string, r: Figures, show: (v: number) => string): void {
    const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
    const lines = [
      `${name}: ${r.people.length} identities (+ strangers), ${REFERENCES_PER_PERSON} references each from the first ${ENROL_FRACTION * 100}% of their first clip, probes from its last half and their other clip`,
      `  probes: ${r.known} of enrolled people (${r.crossClip} from another clip than their references), ${r.strangers} strangers; comparisons: ${r.genuine.length} genuine, ${r.impostor.length} impostor`,
      `  genuine: least alike ${show(r.genuine[0]!)}  5% least alike ${show(quantile(r.genuine, 0.05))}  median ${show(quantile(r.genuine, 0.5))}`,
      `  impostor: median ${show(quantile(r.impostor, 0.5))}  1% most alike ${show(quantile(r.impostor, 0.99))}  most alike ${show(r.impostor.at(-1)!)}`,
      `  threshold for FMR <= ${TARGET_FMR * 100}%: ${show(r.threshold)} (FMR ${(r.fmr * 100).toFixed(2)}%), TMR ${pct(r.tmr)} (same clip ${pct(r.tmrSameClip)}, other clip ${pct(r.tmrCrossClip)}); for FMR 0: ${show(r.zeroThreshold)}, TMR ${pct(r.tmrAtZero)}`,
      ...(name === 'cosine similarity' && r.atDefault ? [`  at the shipped default ${show(r.atDefault.threshold)} (plugins.faces.matchThreshold): FMR ${(r.atDefault.fmr * 100).toFixed(2)}%, TMR ${pct(r.atDefault.tmr)} (same clip ${pct(r.atDefault.tmrSameClip)}, other clip ${pct(r.atDefault.tmrCrossClip)})`] : []),
      `  rank-1 identification ${pct(r.rank1)}; rank-1 and over the threshold ${pct(r.rank1Over)}; strangers over the threshold ${r.strangersOver} of ${r.strangers}`,
      ...[...r.byPerson].map(([p, s]) => `    ${p}: ${s.length} probes, genuine least alike ${show(Math.min(...s))}, median ${show(quantile([...s].sort((a, b) => a - b), 0.5))}`),
    ];
    process.stdout.write(`${lines.map((l) => `# ${l}`).join('\n')}\n`);
  }

  test('true-match rate at a false-match rate of at most 1%, and the threshold that gives it (cosine of the L2-normalised embeddings)', () => {
    const r = evaluate((a, b) => cosineSimilarity(a.embedding, b.embedding));
    report('cosine similarity', r, (v) => v.toFixed(3));
    assert.equal(r.people.length, 5, `identities found: ${r.people.join(', ')}`);
    assert.ok(r.fmr <= TARGET_FMR);
    assert.ok(r.genuine.length >= 80 && r.impostor.length >= 500, 'enough comparisons to read a 1% rate from');
    // Floors under the figures (models/README.md), not the figures: broken alignment or a wrong
    // model gives far less; clips and load do not change them (the same frames each run).
    assert.ok(r.tmr >= 0.65, `TMR ${r.tmr} at FMR <= 1%`);
    assert.ok(r.tmrSameClip >= 0.85, `TMR ${r.tmrSameClip} within a clip at FMR <= 1%`);
    assert.ok(r.rank1 >= 0.85, `rank-1 ${r.rank1}`);
    assert.equal(r.strangersOver, 0, 'no stranger over the threshold');
    assert.ok(r.threshold > 0 && r.threshold < 1);
    assert.ok(r.atDefault!.threshold >= r.zeroThreshold, 'the shipped default is above every impostor score of this set');
  });

  test("the same with dlib's own metric (Euclidean distance of the raw descriptors, same person below 0.6)", () => {
    const distance = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((x, i) => x - b[i]!));
    const r = evaluate((a, b) => -distance(a.descriptor, b.descriptor));
    report('dlib distance', r, (v) => (-v).toFixed(3));
    assert.ok(r.fmr <= TARGET_FMR);
    assert.ok(r.tmr >= 0.5, `TMR ${r.tmr} at FMR <= 1%`);
  });
});
