/**
 * The gallery's metrics (server-wide, no `stream` label), read from the people service at scrape time.
 */
import type { PeopleMetricsSource } from './people-service.ts';

/** PeopleMetricSpec is one gallery metric: name (without the prefix), type, labels, help, reader. */
export interface PeopleMetricSpec {
  name: string;
  type: 'gauge' | 'counter';
  labels: string[];
  help: string;
  read(source: PeopleMetricsSource): { labels?: Record<string, string>; value: number }[];
}

/** PEOPLE_METRICS lists them. */
export const PEOPLE_METRICS: readonly PeopleMetricSpec[] = [
  {
    name: 'people_enrolled', type: 'gauge', labels: [],
    help: 'People in the face recognition gallery.',
    read: (s) => [{ value: s.galleryCounts().people }],
  },
  {
    name: 'people_faces', type: 'gauge', labels: [],
    help: 'Reference faces (embeddings) in the face recognition gallery.',
    read: (s) => [{ value: s.galleryCounts().faces }],
  },
  {
    name: 'people_faces_enrolled_total', type: 'counter', labels: [],
    help: 'Reference faces enrolled since the server started (uploads and stream frames).',
    read: (s) => [{ value: s.facesEnrolled() }],
  },
  {
    name: 'people_enrol_rejected_total', type: 'counter', labels: ['reason'],
    help: 'Enrolments refused since the server started, by reason: no_face, several_faces, face_too_small, unreadable, format, too_large.',
    read: (s) => [...s.enrolRejections()].map(([reason, value]) => ({ labels: { reason }, value })),
  },
];
