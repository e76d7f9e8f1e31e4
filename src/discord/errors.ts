import { DiscordAPIError, RESTJSONErrorCodes } from "discord.js";
import { MissionControlError } from "../shared/errors.ts";

/** Discord would not take a post: the attempt fails, so retry and alerting apply. */
export class PostRefusedError extends MissionControlError {
  override name = "PostRefusedError";
  constructor(
    readonly channelId: string,
    readonly code: number | string,
    reason: string,
  ) {
    super(`Discord refused the post to channel ${channelId}: ${reason} (${code})${hintFor(code)}`);
  }
}

function hintFor(code: number | string): string {
  switch (code) {
    case RESTJSONErrorCodes.MissingAccess:
    case RESTJSONErrorCodes.MissingPermissions:
      return " — give the bot View Channel, Send Messages and Embed Links there";
    case RESTJSONErrorCodes.UnknownChannel:
      return " — the channel is gone; pick another with /task edit";
    default:
      return "";
  }
}

export const isDiscordError = (err: unknown, code: number): boolean =>
  err instanceof DiscordAPIError && err.code === code;
