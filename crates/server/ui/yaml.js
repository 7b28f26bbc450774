// Writing YAML for the form editors: a value is emitted as block YAML and
// put in place of one key's block in the document's text, so the rest of
// the document (comments, order, style) stays as the user wrote it.

const PLAIN = /^[A-Za-z0-9_$(/.][A-Za-z0-9_ .\/${}()<>*+%=,-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?)$/i;

function scalar(v) {
  if (v === null || v === undefined) return "null";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  const t = String(v);
  if (t && PLAIN.test(t) && !RESERVED.test(t) && !t.includes(": ") && !t.includes(" #") && !t.endsWith(" ")) return t;
  return JSON.stringify(t);
}

function isScalar(v) {
  return v === null || typeof v !== "object";
}

/** Block YAML for `value`, each line indented by `pad` spaces. */
export function emit(value, pad = 0) {
  const sp = " ".repeat(pad);
  if (isScalar(value)) return `${sp}${scalar(value)}\n`;
  if (Array.isArray(value)) {
    if (!value.length) return `${sp}[]\n`;
    return value.map((item) => {
      if (isScalar(item) || (typeof item === "object" && !Object.keys(item).length)) return `${sp}- ${inline(item)}\n`;
      const body = emit(item, pad + 2);
      return `${sp}- ${body.slice(pad + 2)}`;
    }).join("");
  }
  const keys = Object.keys(value);
  if (!keys.length) return `${sp}{}\n`;
  return keys.map((k) => {
    const v = value[k];
    if (isScalar(v) || (typeof v === "object" && !Object.keys(v).length)) return `${sp}${scalar(k)}: ${inline(v)}\n`;
    return `${sp}${scalar(k)}:\n${emit(v, pad + 2)}`;
  }).join("");
}

function inline(v) {
  if (Array.isArray(v)) return "[]";
  if (v && typeof v === "object") return "{}";
  return scalar(v);
}

const indentOf = (line) => line.length - line.trimStart().length;
const meaningful = (line) => line.trim() !== "" && !line.trimStart().startsWith("#");

/**
 * The text with the block of `path` (keys from the top, e.g.
 * ["workload", "load", "stages"]) replaced by `yamlBody` (block YAML of
 * the new value, unindented). A missing last key is added to its parent.
 * Returns null when the document is JSON or the parent is written in flow
 * style ({...}); the caller then rewrites the whole document.
 */
export function setBlock(text, path, yamlBody) {
  if (text.trimStart().startsWith("{")) return null;
  const lines = text.split("\n");
  let from = 0, to = lines.length, indent = 0;
  for (let depth = 0; depth < path.length; depth++) {
    const key = path[depth];
    // The children's indentation: the first meaningful line of the range.
    let childIndent = null;
    for (let i = from; i < to; i++) if (meaningful(lines[i])) { childIndent = indentOf(lines[i]); break; }
    if (childIndent === null) childIndent = depth === 0 ? 0 : indent + 2;
    if (depth > 0 && childIndent <= indent) childIndent = indent + 2;
    let at = -1;
    for (let i = from; i < to; i++) {
      const l = lines[i];
      if (!meaningful(l) || indentOf(l) !== childIndent) continue;
      const m = /^\s*("?)([^":#]+)\1\s*:(\s|$)/.exec(l);
      if (m && m[2].trim() === key) { at = i; break; }
    }
    const last = depth === path.length - 1;
    if (at < 0) {
      if (!last) return null;
      let end = to;
      while (end > from && !meaningful(lines[end - 1])) end--;
      const added = block(key, yamlBody, childIndent);
      lines.splice(end, 0, ...added);
      return lines.join("\n");
    }
    let end = at + 1;
    while (end < to && (!meaningful(lines[end]) || indentOf(lines[end]) > childIndent ||
      (indentOf(lines[end]) === childIndent && lines[end].trimStart().startsWith("- ") && lines[at].replace(/\s+#.*$/, "").trim().endsWith(":")))) end++;
    while (end > at + 1 && !meaningful(lines[end - 1])) end--;
    if (last) {
      lines.splice(at, end - at, ...block(key, yamlBody, childIndent));
      return lines.join("\n");
    }
    const rest = lines[at].slice(lines[at].indexOf(":") + 1).trim();
    if (rest && !rest.startsWith("#")) return null; // flow style parent
    from = at + 1; to = end; indent = childIndent;
  }
  return null;
}

function block(key, yamlBody, pad) {
  const sp = " ".repeat(pad);
  const body = yamlBody.replace(/\n+$/, "").split("\n");
  if (body.length === 1 && !body[0].startsWith("- ") && !/^[^"]*: /.test(body[0])) return [`${sp}${key}: ${body[0].trim()}`];
  return [`${sp}${key}:`, ...body.map((l) => (l ? `${sp}  ${l}` : l))];
}
