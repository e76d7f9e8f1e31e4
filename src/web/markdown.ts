import { marked } from "marked";
import sanitizeHtml from "sanitize-html";
import { type Html, trusted } from "./html.ts";

// Briefings and outputs are markdown written by handlers from user text (goal titles, task
// names, errors): rendered with marked, then sanitized to a short list of harmless tags, so a
// `<script>` or an `onerror` in the text arrives as nothing at all.

const ALLOWED: sanitizeHtml.IOptions = {
  allowedTags: [
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "br",
    "hr",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "code",
    "em",
    "strong",
    "del",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
  ],
  allowedAttributes: { a: ["href", "title", "rel"] },
  allowedSchemes: ["http", "https", "mailto"],
  transformTags: { a: sanitizeHtml.simpleTransform("a", { rel: "noopener noreferrer nofollow" }) },
};

export function renderMarkdown(markdown: string): Html {
  const rendered = marked.parse(markdown, { async: false, gfm: true });
  return trusted(sanitizeHtml(rendered, ALLOWED));
}
