import { chromium, type Browser } from 'playwright-core';

/** CHROMIUM_PATH is the Debian Chromium binary the tests drive; no Playwright-managed browser is downloaded. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * CHROMIUM_ARGS are the launch flags for headless test runs: no sandbox (containers), no network
 * chatter of its own, and WebGL on SwiftShader (CPU) so results do not depend on a GPU.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** launchChromium starts headless Chromium with {@link CHROMIUM_ARGS}; the caller must close() it (in `after()`). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
}
