import {
  ChannelType,
  type ChatInputCommandInteraction,
  type SlashCommandSubcommandBuilder,
} from "discord.js";
import type { CommandOption } from "../tasks/handler.ts";
import { optionsPatch, slashFields, type TaskPatch } from "../tasks/task-form.ts";

// The options of `/task add` and `/task edit`, from the task form and the handlers' own options.

/** Discord caps an option's description at 100 characters. */
const described = (text: string) => (text.length > 100 ? `${text.slice(0, 99)}…` : text);

/** Adds the task's options after `id`; Discord lists required options first. */
export function addTaskOptions(
  s: SlashCommandSubcommandBuilder,
  forAdd: boolean,
  handlerOptions: CommandOption[],
): SlashCommandSubcommandBuilder {
  const ordered = [...slashFields].sort((a, b) => Number(b.required) - Number(a.required));
  for (const { spec: option, help, required } of ordered) {
    const needed = forAdd && required;
    const name = option.name;
    const description = described(help);
    if (option.type === "channel") {
      s.addChannelOption((o) =>
        o
          .setName(name)
          .setDescription(description)
          .setRequired(needed)
          .addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement),
      );
    } else if (option.type === "integer") {
      s.addIntegerOption((o) => {
        o.setName(name).setDescription(description).setRequired(needed);
        if (option.min !== undefined) o.setMinValue(option.min);
        if (option.max !== undefined) o.setMaxValue(option.max);
        return o;
      });
    } else {
      s.addStringOption((o) => {
        o.setName(name).setDescription(description).setRequired(needed);
        if (option.maxLength) o.setMaxLength(option.maxLength);
        if (option.autocomplete) o.setAutocomplete(true);
        return o;
      });
    }
  }
  for (const o of handlerOptions) {
    s.addStringOption((opt) => {
      opt.setName(o.name).setDescription(described(o.help));
      if (o.maxLength) opt.setMaxLength(Math.min(o.maxLength, 6000));
      return opt;
    });
  }
  return s;
}

/** The options given, as a patch for the service; `current` is the task's options on edit. */
export function patchFromOptions(
  i: ChatInputCommandInteraction,
  handlerOptions: CommandOption[],
  current?: Record<string, unknown>,
): TaskPatch {
  const patch: Record<string, unknown> = {};
  for (const { key, spec: option } of slashFields) {
    const value =
      option.type === "channel"
        ? i.options.getChannel(option.name)?.id
        : option.type === "integer"
          ? i.options.getInteger(option.name)
          : i.options.getString(option.name);
    if (value !== null && value !== undefined) patch[key] = value;
  }
  const given: Record<string, unknown> = {};
  for (const o of handlerOptions) {
    const value = i.options.getString(o.name);
    if (value !== null) given[o.name] = value;
  }
  const options = optionsPatch(given, current);
  if (options) patch.options = options;
  return patch as TaskPatch;
}
