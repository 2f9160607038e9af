/**
 * The people page: the recognition gallery. Lists everyone enrolled with their reference faces
 * (fetched with the admin token, shown from object URLs), adds a person, enrols a face from an
 * uploaded JPEG or PNG or from a live stream's current frame, deletes a face or a person. Every
 * error the server gives (no face or two faces found, a name taken, a stream that is not live) is
 * shown by the person it concerns; nothing changes then.
 */
import { AdminToken } from './admin-token.js';
import { h, setText } from './dom.js';
import { listStreams } from './stream-api.js';
import { createPerson, deleteFace, deletePerson, faceFromStream, faceImage, listPeople, uploadFace } from './people-api.js';

const token = new AdminToken(document.getElementById('token-form'));
const list = document.getElementById('people-list');
const status = document.getElementById('people-status');
const addForm = document.getElementById('add-person');
const READ_REASON = 'The people gallery on this server needs its admin token (auth.adminToken).';
let objectUrls = [];

/** call runs an API call with the token, asking for it on a 401 (the prompt placed after `anchor`). */
const call = (fn, anchor = addForm) => token.authorised((t) => fn(t), anchor, READ_REASON);

function faceItem(person, face) {
  const img = h('img', { alt: `${person.name}, reference face from ${face.source}`, width: 75, height: 75 });
  call((t) => faceImage(t, face.imageUrl)).then((url) => { objectUrls.push(url); img.src = url; }, () => {});
  return h('li', { dataset: { faceId: face.id } }, img,
    h('button', { type: 'button', class: 'button ghost', onclick: () => act(person, `Deleting a face of ${person.name}`, (t) => deleteFace(t, person.id, face.id)) }, 'Delete face'));
}

function personCard(person, streams) {
  const error = h('p', { class: 'fine person-error', role: 'alert', dataset: { error: '' } });
  const file = h('input', { type: 'file', accept: 'image/jpeg,image/png', 'aria-label': `Face image of ${person.name}` });
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (chosen) void act(person, `Enrolling ${chosen.name}`, (t) => uploadFace(t, person.id, chosen), error);
  });
  const stream = h('select', { 'aria-label': `Live stream to enrol ${person.name} from` }, streams.map((s) => h('option', { value: s.key }, s.key)));
  const fromStream = h('button', { type: 'button', class: 'button', disabled: streams.length === 0, onclick: () => act(person, `Enrolling from ${stream.value}`, (t) => faceFromStream(t, person.id, stream.value), error) }, 'Enrol from stream');
  return h('li', { class: 'person', dataset: { personId: person.id } },
    h('h2', {}, person.name, h('span', { class: 'fine' }, ` · ${person.faceCount} face${person.faceCount === 1 ? '' : 's'}`)),
    h('ul', { class: 'person-faces' }, person.faces.map((f) => faceItem(person, f))),
    h('div', { class: 'person-actions' },
      h('label', { class: 'button' }, 'Upload face ', file),
      streams.length ? stream : null, fromStream,
      h('button', { type: 'button', class: 'button ghost', onclick: () => { if (confirm(`Delete ${person.name}, their faces, and their name from stored events?`)) void act(person, `Deleting ${person.name}`, (t) => deletePerson(t, person.id), error); } }, 'Delete person')),
    error);
}

/** act runs a change, shows its error by the person (or on the page), and reloads the gallery. */
async function act(person, what, fn, errorNode) {
  setText(status, `${what}…`);
  try {
    await call(fn, errorNode ?? addForm);
    setText(status, `${what}: done.`);
  } catch (err) {
    const message = `${what}: ${err.message}`;
    if (errorNode) setText(errorNode, message);
    setText(status, message);
    return;
  }
  await render();
}

async function render() {
  let people;
  try {
    people = await call(listPeople);
  } catch (err) {
    setText(status, err.status === 503 ? `The gallery is not available: ${err.message}` : `Could not read the gallery: ${err.message}`);
    return;
  }
  const streams = await listStreams().catch(() => []);
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
  list.replaceChildren(...people.map((p) => personCard(p, streams.filter((s) => s.state === 'live'))));
  list.dataset.count = String(people.length);
  if (people.length === 0) setText(status, 'Nobody is enrolled yet.');
}

addForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = addForm.elements.namedItem('name');
  const name = input.value;
  setText(status, `Adding ${name}…`);
  try {
    await call((t) => createPerson(t, name));
    input.value = '';
    setText(status, `Added ${name}.`);
  } catch (err) {
    setText(status, `Could not add ${name.slice(0, 100)}: ${err.message}`);
    input.setAttribute('aria-invalid', 'true');
    return;
  }
  input.removeAttribute('aria-invalid');
  await render();
});

void render();
