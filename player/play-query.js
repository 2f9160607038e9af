/**
 * Signed play URLs in the player: when the server has `auth.playSecret`, the operator opens the
 * page with the query `npm run sign-url` printed (`/?expires=..&sig=..`, signed for `/live/` or
 * for one stream's folder, or `/?token=..`), and the player adds it to the HLS URLs it fetches.
 * The server adds the same query to the segment URIs of the playlists it serves.
 */

/** PLAY_PARAMS are the query parameters that authorise a play. */
const PLAY_PARAMS = ['expires', 'sig', 'token'];

/** playQuery is the play part of a page query (`location.search`), e.g. `expires=1&sig=abc`, or ''. */
export function playQuery(search = window.location.search) {
  const page = new URLSearchParams(search);
  const out = new URLSearchParams();
  for (const name of PLAY_PARAMS) if (page.has(name)) out.set(name, page.get(name));
  return out.toString();
}

/** withPlayQuery adds `query` (from playQuery) to `url`; `url` unchanged when `query` is ''. */
export function withPlayQuery(url, query) {
  if (!query) return url;
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}
