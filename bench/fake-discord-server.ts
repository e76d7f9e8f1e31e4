// The test suite's fake Discord (REST and gateway on 127.0.0.1) in a process of its own, so the
// posting benchmark counts only the bot's CPU. Prints one JSON line with what a client needs;
// stops on SIGTERM. Run through tsx: it is test code, not part of the build.

import { startFakeDiscord } from "../test/support/fake-discord.ts";

const fake = await startFakeDiscord();
process.stdout.write(
  `${JSON.stringify({
    url: fake.url,
    token: fake.token,
    guildId: fake.guildId,
    channelId: fake.channels.general,
  })}\n`,
);
process.on("SIGTERM", () => {
  void fake.close().finally(() => process.exit(0));
});
