// CLI: npm run enrol -- --name NAME [--data-dir DIR] [-c config.yaml] IMAGE...
// Enrols reference faces into the gallery of the data folder's database (<dataDir>/events.sqlite),
// directly (no server needed; a running one shares the file). dataDir as the server resolves it:
// defaults < config file < LIVEMATTE_DATA_DIR < --data-dir. Each image must show exactly one face.
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { Command } from 'commander';
import { configFromEnv, loadConfigFile, resolveConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { MediaServerError } from '../errors.ts';
import { EVENTS_DB_FILE, SqliteEventStore } from '../events/sqlite-event-store.ts';
import enrolImage, { closeModels } from './enrol-worker.ts';
import { PeopleService } from './people-service.ts';
import { SqlitePeopleStore } from './sqlite-people-store.ts';

interface CliOptions {
  name: string;
  dataDir?: string;
  config?: string;
}

/** UsageError marks bad usage (exit 2); a refused image or a failure exits 1. */
class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('enrol')
    .description('Enrol a person\'s reference faces (one face per image, JPEG or PNG) into the face recognition gallery.')
    .argument('<image...>', 'images that each show exactly one face of the person')
    .requiredOption('--name <name>', 'the person\'s name (made when new, else faces are added to them)')
    .option('--data-dir <dir>', 'folder of the events database (default: the config\'s dataDir)')
    .option('-c, --config <file>', 'YAML config file (see config.example.yaml)')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) });
  try {
    program.parse(argv);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    throw new UsageError((e.message ?? String(err)).replace(/^error: /, ''));
  }
  const images = program.args;
  const options = program.opts<CliOptions>();
  const config = resolveConfig({ file: options.config ? loadConfigFile(options.config) : {}, env: configFromEnv(process.env), cli: options.dataDir === undefined ? {} : { dataDir: options.dataDir } });
  if (config.events.store !== 'sqlite') throw new UsageError(`the gallery lives in the SQLite events database; this config has events.store ${config.events.store}`);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const dbPath = join(dataDir, EVENTS_DB_FILE);
  const modelsDir = config.modelsDir ? resolve(config.modelsDir) : undefined;
  // Enrolment relabels no events; the event store is there for the service's shape, never opened.
  const eventStore = new SqliteEventStore({ path: dbPath });
  const store = new SqlitePeopleStore({ path: dbPath });
  const people = new PeopleService({
    store,
    enrol: (task) => enrolImage(task, modelsDir),
    labels: eventStore,
    currentFrame: () => Promise.reject(new MediaServerError('ERR_STREAM_NOT_FOUND', 'http', 'the CLI reads no streams')),
    log: createLogger('error'),
  });
  let failures = 0;
  try {
    await people.start();
    let person = await people.findByName(options.name);
    const created = !person;
    person ??= await people.create(options.name);
    process.stdout.write(`${created ? 'created' : 'found'} person '${person.name}' (${person.id}) in ${dbPath}\n`);
    for (const image of images) {
      try {
        const bytes = await readFile(image).catch((err: Error) => {
          throw new MediaServerError('ERR_IMAGE_UNREADABLE', 'http', `can not read the file: ${err.message}`);
        });
        const { face, facesFound } = await people.enrolImage(person.id, bytes, `cli:${basename(image)}`);
        process.stdout.write(`${image}: ${facesFound.length} face, enrolled as face ${face.id} (score ${face.score.toFixed(2)})\n`);
      } catch (err) {
        failures += 1;
        const e = err as Error & { code?: string };
        process.stdout.write(`${image}: not enrolled: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
      }
    }
    const after = await people.get(person.id);
    if (created && after.faces.length === 0) {
      // Nothing enrolled: the new person goes again (no face, no event ever carried the name).
      await store.deletePerson(person.id);
      process.stdout.write(`no face enrolled; person '${after.name}' not kept\n`);
      return 1;
    }
    process.stdout.write(`'${after.name}' has ${after.faces.length} face${after.faces.length === 1 ? '' : 's'}; ${failures} of ${images.length} image${images.length === 1 ? '' : 's'} failed\n`);
  } finally {
    await people.close();
    await closeModels();
  }
  return failures > 0 ? 1 : 0;
}

main(process.argv).then((code) => { process.exitCode = code; }, (err: unknown) => {
  const e = err as Error & { code?: string };
  process.stderr.write(`enrol: ${e.code ? `${e.code}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
