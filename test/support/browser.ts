import { accessSync, constants } from "node:fs";
import { type Browser, chromium } from "playwright-core";

// A real browser for tests: the machine's Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH),
// driven by playwright-core, which downloads no browser of its own. Without one, browser tests
// are skipped and say so in one line: `describe.skipIf(browserSkipReason)`.

const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

const runnable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export const browserSkipReason: string | null = runnable(executablePath)
  ? null
  : `browser tests skipped: no Chromium at ${executablePath} (install it with: apt-get install -y chromium, or set CHROMIUM_PATH)`;

// Said once, when a test file first imports this, rather than left to a count of skipped tests.
if (browserSkipReason) console.warn(browserSkipReason);

/** Headless Chromium, quiet: no updates, sync or other traffic of its own. Null without one. */
export async function launchBrowser(): Promise<Browser | null> {
  if (browserSkipReason) return null;
  return chromium.launch({
    executablePath,
    args: [
      "--no-sandbox", // tests run as root in CI, where the sandbox will not start
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}
