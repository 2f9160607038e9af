/**
 * Options of the `faces` plugin: the JSON schema (ajv, useDefaults) is the single source of
 * defaults, units and allowed values; `facesFromQuery` reads them from a stream key's query.
 */
import type { JSONSchemaType } from 'ajv';
import type { QueryOptions } from '../plugin-api.ts';
import type { FaceModelName } from '../../models/face/face-models.ts';
import type { FaceTileMode } from '../../models/face/face-tiles.ts';

/**
 * FacesMode says what is drawn over each face: 'blur' (Gaussian, sigma `blurStrength` x face
 * width), 'pixelate' (the blur, then a mosaic of `mosaicBlocks` blocks across the face, in whole blocks), 'box' (solid `color`),
 * 'mark' (an outline and the score in `color`: monitoring, the face stays visible), 'detect'
 * (nothing drawn: detections, tracks and events only).
 */
export type FacesMode = 'blur' | 'pixelate' | 'box' | 'mark' | 'detect';

/** FacesOptions configures face detection, tracking and anonymisation for one stream. */
export interface FacesOptions {
  /** What is drawn over each face. */
  mode: FacesMode;
  /** Detector: 'short' (BlazeFace short range, faces within ~2 m) or 'full' (full range, rooms and streets). */
  model: FaceModelName;
  /** Detector confidence 0..1 from which a face counts (and is covered). */
  minScore: number;
  /** Margin added on each side of the face box, as a fraction of its size (hair, ears, forehead). */
  margin: number;
  /** Shape of the covered region: an ellipse inscribed in the grown box, or the rectangle itself. */
  shape: 'ellipse' | 'rect';
  /** Colour 'rrggbb' of 'box' and 'mark'. */
  color: string;
  /** How long a track is kept (and covered, at its predicted place) after its last detection, ms. */
  holdMs: number;
  /** Detector runs that must see a track before it counts as confirmed (events, gauges). */
  confirmRuns: number;
  /** 'auto' adds tiles so that faces down to 1/20 of the frame height are found (costs more runs per frame). */
  tiles: FaceTileMode;
  /** Blur sigma as a fraction of the face box width ('blur', 'pixelate'); at least 0.3 (the MediaPipe detector stops finding faces from about 0.29). */
  blurStrength: number;
  /** Mosaic blocks across the face box width ('pixelate', drawn over the face blurred as in 'blur', so the blocks carry no detail of the face). */
  mosaicBlocks: number;
  /** Whose faces are anonymised: 'all', or 'unknown' (enrolled people stay visible once recognised; recognition turns on). */
  anonymise: 'all' | 'unknown';
  /** Recognise enrolled people (labels on detections and events, names in 'mark'); implied by anonymise 'unknown'. */
  recognise: boolean;
}

/** FacesSettings are the server-level settings under `plugins.faces` (no stream may change them). */
export interface FacesSettings {
  /** Cosine similarity 0..1 a face needs to a person's best reference to be that person. */
  matchThreshold: number;
  /** Lead in cosine similarity the best person needs over the second best. */
  matchMargin: number;
}

/** PreparedFacesOptions are the options as the worker gets them: the stream's plus the server's match settings (absent: their defaults, e.g. in the plugin test host, which does not run `prepare`). */
export type PreparedFacesOptions = FacesOptions & Partial<FacesSettings>;

/**
 * facesSettingsSchema: the match threshold's default comes from measurements on the shared footage
 * (models/README.md, "Recognition accuracy"): over the accuracy set, 0.934 kept false matches at
 * 0.88% and no stranger scored over 0.939; but in the side-by-side recognition test a stranger
 * (again.mkv) scored up to 0.955 against sister.mkv's face while that face itself scored 0.974 and
 * up. A false match shows a stranger, so the default is above every stranger seen: 0.96.
 */
export const facesSettingsSchema = {
  type: 'object' as const,
  additionalProperties: false,
  properties: {
    matchThreshold: { type: 'number', minimum: 0, maximum: 1, default: 0.96, description: 'Cosine similarity 0..1 a face needs to an enrolled person\'s best reference to be recognised as them (measured on the shared footage: strangers reached 0.955, the enrolled 0.974 and up in the same clip; higher = fewer false matches, more unknowns, who stay hidden).' },
    matchMargin: { type: 'number', minimum: 0, maximum: 0.5, default: 0.02, description: 'Lead in cosine similarity the best person needs over the second best; below it the face is unknown.' },
  },
};

/** MATCH_DEFAULTS are the schema's defaults of {@link FacesSettings}. */
export const MATCH_DEFAULTS: FacesSettings = {
  matchThreshold: facesSettingsSchema.properties.matchThreshold.default,
  matchMargin: facesSettingsSchema.properties.matchMargin.default,
};

/** facesOptionsSchema is the ajv schema of {@link FacesOptions}, with a default on every property. */
export const facesOptionsSchema: JSONSchemaType<FacesOptions> = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { type: 'string', enum: ['blur', 'pixelate', 'box', 'mark', 'detect'], default: 'blur', description: 'What is drawn over each face: blur, pixelate (mosaic), box (solid colour), mark (outline and score, face visible), detect (nothing drawn).' },
    model: { type: 'string', enum: ['short', 'full'], default: 'full', description: "Face detector: 'short' (BlazeFace short range, 128x128, faces within ~2 m) or 'full' (full range, 192x192, rooms and street cameras)." },
    minScore: { type: 'number', minimum: 0.05, maximum: 1, default: 0.5, description: 'Detector confidence 0..1 from which a face is covered and tracked.' },
    margin: { type: 'number', minimum: 0, maximum: 1, default: 0.2, description: 'Margin on each side of the face box, as a fraction of its size (hair, ears).' },
    shape: { type: 'string', enum: ['ellipse', 'rect'], default: 'ellipse', description: 'Shape of the covered region inside the grown box.' },
    color: { type: 'string', pattern: '^[0-9a-fA-F]{6}$', default: '000000', description: "Colour 'rrggbb' of mode 'box' (fill) and 'mark' (outline)." },
    holdMs: { type: 'integer', minimum: 0, maximum: 5000, default: 400, description: 'A track is kept, and covered where it is predicted, this long after its last detection (ms).' },
    confirmRuns: { type: 'integer', minimum: 1, maximum: 30, default: 3, description: 'Detector runs that must see a face before its track is confirmed (events and the face count; every track is covered).' },
    tiles: { type: 'string', enum: ['off', 'auto'], default: 'off', description: "'auto' adds overlapping tiles so the detector finds faces down to 1/20 of the frame height (up to 17 model runs per frame instead of 1)." },
    blurStrength: { type: 'number', minimum: 0.3, maximum: 2, default: 0.35, description: "Blur sigma as a fraction of the face width (modes 'blur' and 'pixelate'); at least 0.3." },
    mosaicBlocks: { type: 'number', minimum: 2, maximum: 16, default: 8, description: "Mosaic blocks across the face width (mode 'pixelate'; the mosaic is made of the blurred face, see blurStrength)." },
    anonymise: { type: 'string', enum: ['all', 'unknown'], default: 'all', description: "Whose faces are anonymised: 'all', or 'unknown' (enrolled people stay visible once recognised, everyone else and every face not yet recognised is hidden; turns recognition on)." },
    recognise: { type: 'boolean', default: false, description: "Recognise enrolled people: names on detections, events and in mode 'mark' (on by itself with anonymise 'unknown')." },
  },
  required: ['mode', 'model', 'minScore', 'margin', 'shape', 'color', 'holdMs', 'confirmRuns', 'tiles', 'blurStrength', 'mosaicBlocks', 'anonymise', 'recognise'],
};

/** Values of `?faces=` that the host reads as on or off (plugin-catalog.ts); anything else is a mode. */
const SWITCH = /^(on|true|1|off|false|0|none)$/i;

/** The query spellings of a boolean (`?recognise=1`); anything else reaches the schema, which names it. */
const FLAG: Readonly<Record<string, boolean>> = { 1: true, true: true, on: true, yes: true, 0: false, false: false, off: false, no: false };

/**
 * facesFromQuery reads `?faces=<mode>` (turns the plugin on for the stream with that mode; `on`
 * and `off` are left to the host; an unknown mode reaches the schema, which refuses it by name)
 * `?faceModel=short|full`, `?anonymise=all|unknown` and `?recognise=1`. Other options use the host's
 * `?faces.<option>=<value>`.
 */
export function facesFromQuery(query: Readonly<Record<string, string | undefined>>): QueryOptions {
  const options: Record<string, unknown> = {};
  let enabled: boolean | undefined;
  const value = query.faces;
  if (value !== undefined && !SWITCH.test(value)) {
    options.mode = value.toLowerCase();
    enabled = true;
  }
  if (query.faceModel !== undefined) options.model = query.faceModel;
  if (query.anonymise !== undefined) options.anonymise = query.anonymise.toLowerCase();
  if (query.recognise !== undefined) options.recognise = FLAG[query.recognise.toLowerCase()] ?? query.recognise;
  return enabled === undefined ? { options } : { enabled, options };
}
