// HTML built from templates that escape every value unless it is already Html: task names,
// outputs and errors are user text, so escaping is the default and raw markup the exception.

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);

/** Markup that is safe as it is: built by `html`, or sanitized. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | null | undefined | false | readonly HtmlValue[];

const render = (v: HtmlValue): string => {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return v.map(render).join("");
  return escapeHtml(String(v));
};

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] as string;
  for (let i = 0; i < values.length; i++) out += render(values[i] as HtmlValue) + strings[i + 1];
  return new Html(out);
}

/** Trusted markup (sanitized markdown, an SVG built from numbers). */
export const trusted = (text: string): Html => new Html(text);
